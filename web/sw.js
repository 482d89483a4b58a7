// Offline use that survives redeploys. Each build is one cache, saved whole before it is used:
// - build.py writes this build's id and files into this script, so a new build is a new sw.js: the
//   browser notices it on the next online visit and installs it beside the running one;
// - install saves every file of the build into the build's own cache, checking each file without a
//   content hash in its name against its sha256 (a file from another build, half-deployed, fails the
//   install, which the browser retries at a later visit); a failed install leaves no cache behind;
// - this service worker answers from its own build's cache only, the page included, so a visit runs
//   one complete build, old or new, online or offline, never a mix;
// - the new build takes over (activate) only when no open page runs the old one (the browser's rule,
//   as install never calls skipWaiting), and only then are the old builds' caches deleted.
const BUILD = /*{{SW_BUILD}}*/ null; // {id, files: {path: sha256, or null for a content-hashed name}}
const PREFIX = "facespectra-";
const CACHE = PREFIX + BUILD.id;
const scope = new URL("./", self.location.href);

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

async function save(cache, path, sha256) {
  // a content-hashed file never changes: an older build's saved copy or the HTTP cache's will do (a new
  // build that keeps Pyodide does not download it again); the others are revalidated
  const url = new URL(path, scope);
  const response = (!sha256 && await caches.match(url)) || await fetch(url, { cache: sha256 ? "no-cache" : "default" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  if (sha256 && hex(await crypto.subtle.digest("SHA-256", await response.clone().arrayBuffer())) !== sha256) {
    throw new Error(`${path} is not this build's (the site is being updated)`);
  }
  // the page itself is also saved as the scope's URL, which is how visitors ask for it
  await cache.put(new URL(path === "index.html" ? "./" : path, scope), response);
}

async function saveBuild() {
  const cache = await caches.open(CACHE);
  try {
    await Promise.all(Object.entries(BUILD.files).map(([path, sha256]) => save(cache, path, sha256)));
  } catch (err) {
    await caches.delete(CACHE);
    throw err;
  }
}

self.addEventListener("install", (event) => event.waitUntil(saveBuild()));

// Only now does no page run an older build: their caches go.
self.addEventListener("activate", (event) => event.waitUntil((async () => {
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
  }
  // the page is answered from the cache, so a preloaded network copy would be wasted
  if (self.registration.navigationPreload) await self.registration.navigationPreload.disable();
  await self.clients.claim();
})()));

async function answer(request, url) {
  const cache = await caches.open(CACHE);
  const page = request.mode === "navigate" && (url.pathname === scope.pathname || url.pathname === `${scope.pathname}index.html`);
  return (await cache.match(page ? scope.href : request, { ignoreSearch: page })) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  event.respondWith(answer(event.request, url));
});
