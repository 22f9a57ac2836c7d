// The alert board's service worker. It exists for two reasons: phones install the board from it,
// and Android shows notifications only through a service worker registration. It caches nothing:
// alerts and snapshots are personal data and must not stay on a phone.
"use strict";
const OFFLINE = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Offline</title><body style="font:16px system-ui;padding:1rem"><h1>No connection</h1>
<p>The alert board cannot reach the school's server. It reconnects by itself when you reload.</p></body>`;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  if (event.request.mode !== "navigate") return;  // everything else goes to the network untouched
  event.respondWith(fetch(event.request).catch(() =>
    new Response(OFFLINE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } })));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/alerts", self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const board = windows.find((client) => new URL(client.url).pathname === "/alerts");
    if (board) { await board.focus(); if (board.url !== target) await board.navigate(target); return; }
    await self.clients.openWindow(target);
  })());
});
