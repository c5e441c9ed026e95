// Offline after the first visit (#14): a talk must survive the venue's network. The page
// registers this worker as sw.js?build=<its two modules' hashes>, so every deployment is a new
// worker with its own cache, and the old build's cache is deleted once the new one is active.
// At install it stores the page and every file the page names (glue, wasm, styles) and the
// training worker's loader and the char LM's texts; the other bundled data is compiled into the wasm.
const BUILD = new URL(location.href).searchParams.get("build") || "dev";
const CACHE = `tinytune-${BUILD}`;
// The char LM's texts, which the training worker fetches from text/ (src/data/corpus.rs FILES;
// a test checks the two lists agree).
const TEXTS = [
  "hamlet_gut.txt",
  "lear_gut.txt",
  "macbeth_gut.txt",
  "othello_gut.txt",
  "romeo_and_juliet_gut.txt",
  "julius_caesar_gut.txt",
  "antony_and_cleopatra_gut.txt",
  "paradise_regained_gut.txt",
];

self.addEventListener("install", (e) => {
  e.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const page = await fetch("./", { cache: "no-store" });
      const html = await page.clone().text();
      // Trunk writes the hashed files as quoted absolute paths (href, import, module_or_path).
      const files = [...html.matchAll(/["'](\/[\w.-]+\.(?:js|wasm|css))["']/g)].map((m) => m[1]);
      await cache.put("./", page);
      await cache.addAll([...new Set([...files, "./worker.js", ...TEXTS.map((t) => `./text/${t}`)])]);
      await self.skipWaiting();
    })(),
  );
});

// The page's WebGPU module (#15) is fetched only by visits that may train on WebGPU (backend=webgpu,
// or auto with a hardware adapter), so it is not stored at install (index.html names it without a
// leading slash, which the list above skips): the page asks for it once it has loaded it
// (window.tinytuneKeepOffline). What is stored already is not fetched again.
self.addEventListener("message", (e) => {
  if (!e.data || e.data.build !== BUILD) return; // another build's page
  const urls = (e.data && Array.isArray(e.data.store) ? e.data.store : [])
    .filter((u) => typeof u === "string" && new URL(u, location.href).origin === location.origin);
  if (!urls.length) return;
  e.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      for (const url of urls) if (!(await cache.match(url))) await cache.add(url);
    })().catch(() => {}),
  );
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("tinytune-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET" || new URL(req.url).origin !== location.origin) return;
  if (req.mode === "navigate") {
    // The page from the network while there is one (a new deployment's page names its new
    // files), else the stored page, whatever the link's query.
    e.respondWith(
      fetch(req).catch(async () => (await caches.match("./", { ignoreSearch: true })) || Response.error()),
    );
    return;
  }
  // The hashed files never change under their names: the stored copy first.
  e.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
});
