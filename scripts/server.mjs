// The static server for the built page (dist/): `scripts/serve.sh` runs it, and the browser tests
// and the benchmark import `serve` from it, so the page is tested as it is served.
//   node scripts/server.mjs [dir] [port]      (default dist/ on http://127.0.0.1:8080)
// It sends the compressed copies the build writes beside each file (`.br`, `.gz`:
// scripts/compress.mjs, Trunk's post-build hook) to a browser that accepts them, with the
// `application/wasm` type the page's streaming compile needs (the module compiles while it
// downloads). A file without a stored copy (a build without the hook) is compressed once here
// (gzip, fast) and kept in memory until it changes.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};
// What compresses: text and WebAssembly (PNGs are compressed already).
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".wasm", ".css", ".svg", ".json", ".txt"]);

// The encodings a request accepts, in the server's order of preference (q=0 refuses one).
export function accepted(header = "") {
  const offered = new Map();
  for (const part of String(header).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    offered.set(name, q ? Number(q.slice(2)) : 1);
  }
  const ok = (e) => (offered.get(e) ?? offered.get("*") ?? 0) > 0;
  return ["br", "gzip"].filter(ok);
}

const memo = new Map(); // file → { mtimeMs, size, gzip }
function gzipOnce(file, stat) {
  const hit = memo.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.gzip;
  const gzip = zlib.gzipSync(fs.readFileSync(file), { level: 6 });
  memo.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, gzip });
  return gzip;
}

// The body to send for `file` to a client accepting `encodings`: a stored copy newer than the
// file, else (for a compressible type) gzip made here, else the file as it is.
function pick(file, stat, encodings) {
  const ext = path.extname(file);
  if (!COMPRESSIBLE.has(ext)) return { body: fs.createReadStream(file), length: stat.size };
  for (const [encoding, suffix] of [["br", ".br"], ["gzip", ".gz"]]) {
    if (!encodings.includes(encoding)) continue;
    try {
      const copy = fs.statSync(file + suffix);
      if (copy.mtimeMs >= stat.mtimeMs) return { body: fs.createReadStream(file + suffix), length: copy.size, encoding };
    } catch {
      // no stored copy in this encoding
    }
  }
  if (encodings.includes("gzip") && stat.size > 1024) {
    const gzip = gzipOnce(file, stat);
    return { body: gzip, length: gzip.length, encoding: "gzip" };
  }
  return { body: fs.createReadStream(file), length: stat.size };
}

export function handler(root) {
  root = path.resolve(root);
  return (req, res) => {
    let url;
    try {
      url = new URL(req.url, "http://127.0.0.1");
    } catch {
      res.writeHead(400).end("bad request");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    let file;
    try {
      file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
    } catch {
      res.writeHead(400).end("bad request");
      return;
    }
    if (file !== root && !file.startsWith(root + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    let stat;
    try {
      stat = fs.statSync(file);
      if (stat.isDirectory()) {
        file = path.join(file, "index.html");
        stat = fs.statSync(file);
      }
    } catch {
      res.writeHead(404).end("not found");
      return;
    }
    const { body, length, encoding } = pick(file, stat, accepted(req.headers["accept-encoding"]));
    const headers = {
      "content-type": MIME[path.extname(file)] || "application/octet-stream",
      "content-length": length,
      vary: "Accept-Encoding",
    };
    if (encoding) headers["content-encoding"] = encoding;
    res.writeHead(200, headers);
    if (req.method === "HEAD") {
      if (typeof body.destroy === "function") body.destroy();
      res.end();
    } else if (Buffer.isBuffer(body)) {
      res.end(body);
    } else {
      body.pipe(res);
    }
  };
}

// Serves `root` on 127.0.0.1 (a secure context, so navigator.gpu exists); port 0 picks a free one.
export async function serve(root, { port = 0, host = "127.0.0.1" } = {}) {
  if (!fs.existsSync(path.join(root, "index.html"))) {
    throw new Error(`${root}/index.html is missing: build the page first (trunk build --release)`);
  }
  const server = http.createServer(handler(root));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { server, base: `http://${host}:${server.address().port}/` };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] || "dist");
  const port = Number(process.argv[3] || process.env.PORT || 8080);
  const { base } = await serve(root, { port });
  console.log(`tinytune: serving ${root} on ${base} (compressed; Ctrl-C stops)`);
}
