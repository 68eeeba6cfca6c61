// Chiral's Service Worker: plays files while they download. A media element's
// GET /stream/<infohash>/<file index>/<name> (with Range) is forwarded to the page that
// holds the torrent, over a MessageChannel; the page (web-node's browser::stream) answers
// with the head, then one verified chunk per pull, so the element's reading paces the
// transfer. Nothing else is intercepted. The protocol is documented in
// web-node/src/browser/stream.rs.
'use strict';

const HEAD_TIMEOUT_MS = 90000;   // the page waits up to 60 s for a magnet's metadata
const CHUNK_TIMEOUT_MS = 150000; // the page waits up to 120 s for a piece

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/stream/') || event.request.method !== 'GET') return;
  event.respondWith(stream(event, url));
});

async function pageFor(event) {
  const own = event.clientId && (await self.clients.get(event.clientId));
  if (own) return own;
  const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return all.find((c) => c.focused) || all[0];
}

function text(status, body) {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

async function stream(event, url) {
  const [, , infohash, file, ...name] = url.pathname.split('/');
  if (!/^[0-9a-f]{40}$/.test(infohash || '') || !/^[0-9]+$/.test(file || '') || name.length === 0) {
    return text(400, 'expected /stream/<infohash>/<file index>/<name>');
  }
  const page = await pageFor(event);
  if (!page) return text(503, 'no Chiral page is open to stream from');
  const channel = new MessageChannel();
  const port = channel.port1;
  // Messages from the page, in order; `next()` waits for the following one.
  const queue = [];
  let waiter = null;
  port.onmessage = (e) => {
    if (waiter) { const w = waiter; waiter = null; w(e.data); } else queue.push(e.data);
  };
  const next = (ms) => new Promise((resolve) => {
    if (queue.length) return resolve(queue.shift());
    const timer = setTimeout(() => { waiter = null; resolve({ error: 'the page stopped answering' }); }, ms);
    waiter = (data) => { clearTimeout(timer); resolve(data); };
  });
  page.postMessage({ chiral: 'stream', infohash, file: Number(file), range: event.request.headers.get('Range') }, [channel.port2]);
  const first = await next(HEAD_TIMEOUT_MS);
  if (!first.head) {
    port.close();
    return text(504, first.error || 'no answer from the page');
  }
  const { status, headers, text: body } = first.head;
  if (body !== undefined) {
    port.close();
    return new Response(body === '' ? null : body, { status, headers });
  }
  const readable = new ReadableStream({
    async pull(controller) {
      port.postMessage({ pull: true });
      const msg = await next(CHUNK_TIMEOUT_MS);
      if (msg.chunk) controller.enqueue(msg.chunk);
      else if (msg.done) { controller.close(); port.close(); }
      else { controller.error(new Error(msg.error || 'stream failed')); port.close(); }
    },
    cancel() {
      port.postMessage({ cancel: true });
      port.close();
    },
  }, { highWaterMark: 1 });
  return new Response(readable, { status, headers });
}
