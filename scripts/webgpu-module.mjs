// Trunk's post-build hook, before compress.mjs (Trunk.toml): names the page's WebGPU module by
// its content and tells the page where it is (#15).
//   node scripts/webgpu-module.mjs <dir>   (Trunk passes its staging folder as TRUNK_STAGING_DIR)
// Trunk builds webgpu/ as a "worker" asset, which it leaves under fixed names
// (tinytune-webgpu.js, tinytune-webgpu_bg.wasm) and out of index.html. A fixed name could pair a
// cached module of one build with the page of another, so both files get the content's hash in
// their names, as Trunk gives the page's own files, and index.html's
// <meta name="tinytune-webgpu"> gets the two names (relative, so the service worker does not
// store them at install: it stores them once the page has loaded them, see www/sw.js).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2] || process.env.TRUNK_STAGING_DIR;
if (!dir || !fs.existsSync(dir)) {
  console.error("usage: node scripts/webgpu-module.mjs <built page folder>");
  process.exit(2);
}
const NAME = "tinytune-webgpu";
const glue = path.join(dir, `${NAME}.js`);
const wasm = path.join(dir, `${NAME}_bg.wasm`);
const html = path.join(dir, "index.html");
for (const f of [glue, wasm, html]) {
  if (!fs.existsSync(f)) {
    if (fs.readdirSync(dir).some((n) => n.startsWith(`${NAME}-`))) {
      console.error(`webgpu-module: ${dir} holds a named WebGPU module already (this script ran on it)`);
      process.exit(1);
    }
    console.error(`webgpu-module: ${f} is missing (is webgpu/ a rel="rust" link in index.html?)`);
    process.exit(1);
  }
}
const page = fs.readFileSync(html, "utf8");
// Attributes in any order, quoted or not (a minified page).
const meta = /<meta\b[^>]*\bname=["']?tinytune-webgpu\b[^>]*>/;
if (!meta.test(page)) {
  console.error('webgpu-module: index.html has no <meta name="tinytune-webgpu">');
  process.exit(1);
}
const wasmBytes = fs.readFileSync(wasm);
const hash = crypto.createHash("sha256").update(wasmBytes).update(fs.readFileSync(glue)).digest("hex").slice(0, 16);
const named = { glue: `${NAME}-${hash}.js`, wasm: `${NAME}-${hash}_bg.wasm` };
// The glue's own default URL for its wasm follows the new name (the page passes the module
// compiled, so this is only for anyone loading the glue by hand).
const glueText = fs.readFileSync(glue, "utf8").replaceAll(`${NAME}_bg.wasm`, named.wasm);
fs.writeFileSync(path.join(dir, named.glue), glueText);
fs.renameSync(wasm, path.join(dir, named.wasm));
fs.rmSync(glue);
fs.writeFileSync(html, page.replace(meta, `<meta name="tinytune-webgpu" content="${named.glue}" data-wasm="${named.wasm}">`));
console.log(`webgpu-module: ${named.wasm} (${(wasmBytes.length / 1e6).toFixed(2)} MB)`);
