// Service worker of the hall terminals (触摸终端), registered only by kiosk.js. Public pages
// are fetched network-first and kept, so pages shown before stay viewable offline; pages that
// carry personal data (self-query, tracking pages, answers to forms, the back office, and any
// page shown while a hall officer is logged in, marked `x-kiosk-keep: no`) are never kept, and while offline they, like any page not seen before, get the offline screen, which
// reloads by itself when the network is back.
'use strict';
const VERSION = '__VERSION__';
const CACHE = `xw-kiosk-${VERSION}`;
const OFFLINE = '/kiosk/offline';
const PRIVATE = [/self-query/, /^\/staff/, /^\/cases\//, /^\/messages\/[^/]+/, /^\/objections\//, /^\/wechat/, /^\/kiosk\/enrol/];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([OFFLINE, '/kiosk', `/static/app.css?v=${VERSION}`, `/static/kiosk.js?v=${VERSION}`]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('xw-kiosk-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

const keepable = (url) => url.origin === self.location.origin && !PRIVATE.some((p) => p.test(url.pathname));

const offlineScreen = () => caches.match(OFFLINE).then((r) => r || new Response('离线：网络暂时断开，正在重新连接…', {
  status: 503,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
}));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    if (request.method !== 'GET' || !keepable(url)) {
      event.respondWith(fetch(request).catch(offlineScreen));
      return;
    }
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok && response.headers.get('x-kiosk-keep') !== 'no') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      }).catch(() => caches.match(request).then((cached) => cached || offlineScreen())),
    );
    return;
  }
  if (request.method === 'GET' && url.pathname.startsWith('/static/')) {
    event.respondWith(
      caches.match(request).then((cached) => cached || fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })),
    );
  }
});
