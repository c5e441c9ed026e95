// Trunk's post-build hook (Trunk.toml): writes a Brotli (`.br`) and a gzip (`.gz`) copy beside
// each text and WebAssembly file of the build, so a server sends the page compressed without
// compressing it per request (scripts/server.mjs does; so do nginx's `gzip_static`/`brotli_static`
// and Caddy's `precompressed`).
//   node scripts/compress.mjs <dir>        (Trunk passes its staging folder as TRUNK_STAGING_DIR)
// Brotli at quality 11 with a 16 MiB window is the smallest (measured on the wasm: 3.09 MB against
// 3.55 at quality 9 and 5.17 for gzip -9) but takes about a minute on the wasm, so the copies are
// kept in a cache beside the build output, by content: an unchanged file is not compressed again.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

const dir = process.argv[2] || process.env.TRUNK_STAGING_DIR;
if (!dir || !fs.existsSync(dir)) {
  console.error("usage: node scripts/compress.mjs <built page folder>");
  process.exit(2);
}
const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), ".cache", "tinytune", "target");
const cache = path.join(targetDir, "tinytune-compressed");
fs.mkdirSync(cache, { recursive: true });

const EXTENSIONS = new Set([".html", ".js", ".wasm", ".css", ".svg", ".json", ".txt"]);
const encoders = {
  ".br": (bytes) =>
    zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  ".gz": (bytes) => zlib.gzipSync(bytes, { level: 9 }),
};

// The build's files, its folders included (text/: the char LM's texts).
const files = (d) =>
  fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]));
let written = 0;
for (const file of files(dir)) {
  if (!EXTENSIONS.has(path.extname(file)) || !fs.statSync(file).isFile()) continue;
  const bytes = fs.readFileSync(file);
  // Below a kilobyte the headers outweigh what compression saves.
  if (bytes.length < 1024) continue;
  const hash = crypto.createHash("sha256").update(bytes).digest("hex");
  for (const [suffix, encode] of Object.entries(encoders)) {
    const stored = path.join(cache, hash + suffix);
    if (!fs.existsSync(stored)) {
      const partial = `${stored}.${process.pid}.partial`;
      fs.writeFileSync(partial, encode(bytes));
      fs.renameSync(partial, stored);
    }
    fs.copyFileSync(stored, file + suffix);
    const now = new Date();
    fs.utimesSync(stored, now, now);
    written += 1;
  }
}
// Copies unused for a week belong to builds long replaced.
const week = Date.now() - 7 * 24 * 3600 * 1000;
for (const name of fs.readdirSync(cache)) {
  const stored = path.join(cache, name);
  if (fs.statSync(stored).mtimeMs < week) fs.rmSync(stored, { force: true });
}
console.log(`compress: ${written} compressed copies in ${dir}`);
