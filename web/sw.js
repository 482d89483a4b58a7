// Offline: precache the app and Pyodide from build-manifest.json. The cache is named after the
// manifest's content-hashed names, so a new build (new hashes) fills a new cache and the old one is dropped.
// Hashed files never change: cache first. The rest (page, scripts, manifest): network first, cache when offline.
const PREFIX = "facespectra-";
const HASHED = /-[0-9a-f]{10}(\.[a-z]+$|\/)/;
const scope = new URL("./", self.location.href);

function cacheName(manifest) {
  return PREFIX + [manifest.pyodideDir.replace(/\/$/, ""), manifest.runtime, manifest.weights].join("|");
}

async function precache(manifest) {
  const name = cacheName(manifest);
  const cache = await caches.open(name);
  await cache.addAll(["./", "build-manifest.json", ...manifest.assets].map((u) => new URL(u, scope).href));
  for (const old of await caches.keys()) {
    if (old.startsWith(PREFIX) && old !== name) await caches.delete(old);
  }
  return name;
}

self.addEventListener("install", (event) => {
  event.waitUntil(fetch(new URL("build-manifest.json", scope), { cache: "no-cache" })
    .then((r) => r.json()).then(precache).then(() => self.skipWaiting()));
});

// Navigation preload: the page's own request goes to the network while this worker starts up,
// instead of after it (where the browser supports it).
self.addEventListener("activate", (event) => event.waitUntil(Promise.all([
  self.clients.claim(),
  self.registration.navigationPreload ? self.registration.navigationPreload.enable() : null,
])));

async function current() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return names.length ? caches.open(names[names.length - 1]) : null;
}

// The cache copy is written after the response has gone to the page (waitUntil), so no request
// waits for a disk write; only a new build's manifest waits, for its precache.
async function networkFirst(event, isManifest) {
  const request = event.request;
  try {
    const response = (await event.preloadResponse) || await fetch(request);
    if (response.ok) {
      if (isManifest) {
        const manifest = await response.clone().json();
        const known = await caches.has(cacheName(manifest));
        if (!known) await precache(manifest); // a new build: swap the caches while the page loads
      }
      const copy = response.clone();
      event.waitUntil(current().then((cache) => cache && cache.put(request, copy)));
    }
    return response;
  } catch (err) {
    const cached = await caches.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  return (await caches.match(request)) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  event.respondWith(HASHED.test(path) ? cacheFirst(event.request)
    : networkFirst(event, path === "build-manifest.json"));
});
