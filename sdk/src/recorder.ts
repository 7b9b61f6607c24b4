// The replay recorder bundle (dist/recorder.js), loaded on demand by the
// core. It records with rrweb, masks by the project's masking mode, and
// uploads chunks (every 5 s or 256 KB, gzip'd) to POST /api/replay with a
// per-window sequence number that the server uses to store each chunk once.

import { record } from '@rrweb/record';
import { maskInput, maskText, NO_CAPTURE, scrub, scrubUrl } from './privacy';
import { RECORDER_EVENT, RecorderCtx } from './replay';
import { backoff, beacon, doc, gzip, guard, now, on, post, win } from './util';

const CHUNK_MS = 5000;
const CHUNK_BYTES = 256 * 1024;
const OUTBOX_MAX = 40; // chunks kept for retry while the server is away

// sendBeacon and fetch keepalive carry at most 64 KB.
const BEACON_BYTES = 60000;

interface Chunk {
  q: string; // query string: session, window, seq
  body: string;
  gz?: ArrayBuffer | null; // the gzip'd body, once computed
}

function start(c: RecorderCtx): void {
  let parts: string[] = [];
  let bytes = 0;
  let sid = c.sessionId();
  let paused = false;
  const seqKey = 'sl_seq_' + c.windowId;
  const outbox: Chunk[] = [];
  let sending = false;
  let attempt = 0;

  const url = (q: string, gz?: boolean) =>
    `${c.host}/api/replay?token=${encodeURIComponent(c.token)}&${q}${gz ? '&compression=gzip' : ''}`;

  /** Closes the current chunk and queues it for upload. With limit (a
   * page going away) it is cut into pieces of at most limit characters,
   * each with its own seq, so that each fits a beacon. */
  function cut(limit = Infinity): void {
    const all = parts;
    parts = [];
    bytes = 0;
    if (!c.active()) return;
    for (let i = 0; i < all.length; ) {
      let n = 0;
      let size = 2;
      for (; i + n < all.length && (n == 0 || size + all[i + n]!.length + 1 <= limit); n++) size += all[i + n]!.length + 1;
      const body = '[' + all.slice(i, i + n).join(',') + ']';
      i += n;
      const seq = c.ss.get<number>(seqKey) || 0;
      c.ss.set(seqKey, seq + 1);
      const q = `session_id=${sid}&window_id=${c.windowId}&seq=${seq}&distinct_id=${encodeURIComponent(c.distinctId())}`;
      outbox.push({ q, body });
      if (outbox.length > OUTBOX_MAX) outbox.shift();
    }
    send();
  }

  /** Uploads the outbox in order, one chunk at a time, once the session is
   * old enough to be worth keeping (minimum duration). */
  async function send(): Promise<void> {
    if (sending || !outbox.length || now() - c.sessionStart() < c.minDurationMs) return;
    sending = true;
    const ch = outbox[0]!;
    if (ch.gz === undefined) ch.gz = await gzip(ch.body);
    const status = await post(url(ch.q, !!ch.gz), ch.gz || ch.body);
    sending = false;
    if (status == 0 || status == 429 || status >= 500) {
      win.setTimeout(guard(send), backoff(++attempt));
      return;
    }
    // Delivered, or refused for good (4xx): either way it is done.
    attempt = 0;
    if (outbox[0] == ch) outbox.shift();
    send();
  }

  record({
    emit: guard((e: { type: number; data: { href?: string } }, checkout?: boolean) => {
      if (paused) return;
      // Meta events carry the page URL: scrub it as event URLs are.
      if (e.type == 4 && e.data.href) e.data.href = scrubUrl(e.data.href);
      // A periodic full snapshot starts a new chunk, so that a chunk boundary
      // is a seek point.
      if (checkout) cut();
      const s = JSON.stringify(e);
      parts.push(s);
      bytes += s.length;
      // A full snapshot is uploaded at once (compressed) rather than left for
      // an unload beacon, which could not carry it uncompressed.
      if (bytes >= CHUNK_BYTES || e.type == 2) cut();
    }),
    checkoutEveryNms: 5 * 60 * 1000,
    blockSelector: NO_CAPTURE,
    maskAllInputs: true,
    maskInputFn: (t, el) => maskInput(t, el, c.mode),
    // Every text node goes through maskTextFn, which applies the mode.
    maskTextSelector: '*',
    maskTextFn: (t, el) => maskText(t, el, c.mode),
    slimDOMOptions: 'all',
    inlineStylesheet: true,
    recordCanvas: false,
    collectFonts: false,
    sampling: { mousemove: 100, scroll: 150, media: 800, input: 'last' },
    errorHandler: () => true,
  });

  win.setInterval(guard(cut), CHUNK_MS);

  on(win, 'error', (e: ErrorEvent) => {
    if (e instanceof ErrorEvent) record.addCustomEvent('$error', { message: scrub(String(e.message).slice(0, 500)) });
  });

  c.onSession.push((id) => {
    cut();
    sid = id;
    paused = !c.sampled(id);
    if (!paused) record.takeFullSnapshot(true);
  });

  // The page is going away: send what is left without waiting for
  // compression (sendBeacon must be called before the handler returns).
  on(win, 'pagehide', () => {
    cut(BEACON_BYTES);
    if (now() - c.sessionStart() < c.minDurationMs) return;
    // Chunks already compressed go as gzip; the rest as plain JSON. A chunk
    // the server already has (one in flight) is stored once all the same.
    for (const ch of outbox.splice(0)) beacon(url(ch.q, !!ch.gz), ch.gz || ch.body);
  });
  on(doc, 'visibilitychange', () => doc.visibilityState == 'hidden' && cut());

}

const me = doc.currentScript;
me?.dispatchEvent(new CustomEvent(RECORDER_EVENT, { detail: guard(start) }));
