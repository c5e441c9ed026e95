// The static server (scripts/server.mjs) the page is served and tested with: it sends the build's
// compressed copies to a client that accepts them, with the types the page needs, and nothing
// outside the served folder.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { serve, accepted } from "../../scripts/server.mjs";

let dir;
let srv;
const wasm = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 7));

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tinytune-server-"));
  fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>t</title>" + " ".repeat(2000));
  fs.writeFileSync(path.join(dir, "m_bg.wasm"), wasm);
  fs.writeFileSync(path.join(dir, "m_bg.wasm.br"), zlib.brotliCompressSync(wasm));
  fs.writeFileSync(path.join(dir, "m_bg.wasm.gz"), zlib.gzipSync(wasm));
  fs.writeFileSync(path.join(dir, "plain.js"), "export const x = 1;\n".repeat(200));
  fs.writeFileSync(path.join(os.tmpdir(), "tinytune-server-secret.txt"), "secret");
  srv = await serve(dir);
});
after(() => {
  srv.server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function get(pathname, encoding) {
  return new Promise((resolve, reject) => {
    const req = http.get(srv.base.replace(/\/$/, "") + pathname, { headers: encoding ? { "accept-encoding": encoding } : {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
  });
}

function decode({ headers, body }) {
  if (headers["content-encoding"] === "br") return zlib.brotliDecompressSync(body);
  if (headers["content-encoding"] === "gzip") return zlib.gunzipSync(body);
  return body;
}

test("the encodings a browser offers are read with their weights", () => {
  assert.deepEqual(accepted("gzip, deflate, br, zstd"), ["br", "gzip"]);
  assert.deepEqual(accepted("gzip, deflate"), ["gzip"]);
  assert.deepEqual(accepted("br;q=0, gzip;q=0.5"), ["gzip"]);
  assert.deepEqual(accepted("*"), ["br", "gzip"]);
  assert.deepEqual(accepted(""), []);
  assert.deepEqual(accepted(undefined), []);
});

test("the wasm goes out as the stored Brotli or gzip copy, typed for streaming compilation", async () => {
  const br = await get("/m_bg.wasm", "gzip, deflate, br");
  assert.equal(br.status, 200);
  assert.equal(br.headers["content-type"], "application/wasm");
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(br.headers.vary, "Accept-Encoding");
  assert.equal(Number(br.headers["content-length"]), br.body.length);
  assert.ok(br.body.length < wasm.length / 10, `${br.body.length} bytes sent for ${wasm.length}`);
  assert.deepEqual(decode(br), wasm);

  const gz = await get("/m_bg.wasm", "gzip");
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.deepEqual(decode(gz), wasm);

  const plain = await get("/m_bg.wasm");
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.deepEqual(plain.body, wasm);
});

test("a stored copy older than its file is not sent (a rebuilt file wins)", async () => {
  const file = path.join(dir, "m_bg.wasm");
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(file, later, later);
  try {
    const res = await get("/m_bg.wasm", "br");
    assert.equal(res.headers["content-encoding"], undefined, "the stale .br must not be sent");
    assert.deepEqual(res.body, wasm);
    const gz = await get("/m_bg.wasm", "gzip");
    assert.equal(gz.headers["content-encoding"], "gzip", "compressed here instead");
    assert.deepEqual(decode(gz), wasm);
  } finally {
    const now = new Date(Date.now() - 60_000);
    fs.utimesSync(file, now, now);
  }
});

test("a file without stored copies is gzipped here; the folder serves its index", async () => {
  const js = await get("/plain.js", "gzip, br");
  assert.equal(js.headers["content-type"], "text/javascript");
  assert.equal(js.headers["content-encoding"], "gzip");
  assert.equal(decode(js).toString(), "export const x = 1;\n".repeat(200));
  const page = await get("/?v=1&lr=0.1", "gzip");
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.match(decode(page).toString(), /<title>t<\/title>/);
});

test("nothing outside the folder is served, and a bad path is refused", async () => {
  for (const p of ["/../tinytune-server-secret.txt", "/%2e%2e/tinytune-server-secret.txt", "/..%2ftinytune-server-secret.txt"]) {
    const res = await get(p);
    assert.ok([403, 404].includes(res.status), `${p}: ${res.status}`);
    assert.doesNotMatch(res.body.toString(), /secret/);
  }
  assert.equal((await get("/%E0%A4%A")).status, 400);
  assert.equal((await get("/missing.wasm")).status, 404);
});
