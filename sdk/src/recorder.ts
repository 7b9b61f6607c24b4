// The replay recorder bundle (dist/recorder.js), loaded on demand by the
// core. It records with rrweb, masks text, input values and attributes by
// the project's masking mode, and uploads chunks (every 5 s or 256 KB,
// gzip'd) to POST /api/replay with a per-window sequence number that the
// server uses to store each chunk once.
//
// Chunks wait for delivery in order, bounded by PENDING_MAX characters.
// Once an upload has failed, and when the page unloads, they also wait in
// sessionStorage, so that a server outage or a navigation within the tab
// loses nothing: the next page of the tab sends them. At the bound the
// recorder drops what comes next (a chunk after a hole would replay onto a
// page the player never saw) until the server has taken half of what
// waits; it then records a $replay_gap custom event and a fresh full
// snapshot, so the replay plays on past the hole and says what is missing.

import { record } from '@rrweb/record';
import { maskAttr, maskInput, maskText, NO_CAPTURE, scrub, scrubUrl } from './privacy';
import { RECORDER_EVENT, RecorderCtx } from './replay';
import { backoff, beacon, doc, gzip, guard, now, on, post, win } from './util';

const CHUNK_MS = 5000;
const CHUNK_BYTES = 256 * 1024;
// Waiting chunks, in characters of their stored form (base64 of the gzip):
// about 40 minutes of a typical recording, and a small share of the
// origin's sessionStorage quota, which the page shares.
const PENDING_MAX = 1 << 20;

// sendBeacon and fetch keepalive carry at most 64 KB.
const BEACON_BYTES = 60000;

/** A chunk as it waits in sessionStorage. */
interface Saved {
  q: string; // query string: session, window, seq, distinct id
  z?: string; // base64 of the gzip'd JSON array
  b?: string; // the JSON array, where it could not be compressed
}

interface Chunk {
  k: string; // storage key
  q: string;
  ep: number; // the epoch it was cut in (see drop)
  m: number; // events in it
  body?: string; // the JSON array, until admitted
  rec?: Saved; // once admitted
  n: number; // characters counted against PENDING_MAX, once admitted
  saved?: boolean;
}

/** Data dropped at the bound since t: events and chunks. */
interface Gap {
  t: number;
  e: number;
  c: number;
}

/** A serialized rrweb node, as far as attribute masking reads it. */
interface SNode {
  id: number;
  attributes?: Record<string, unknown>;
  childNodes?: SNode[];
}

function b64(b: ArrayBuffer): string {
  const u = new Uint8Array(b);
  let s = '';
  for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192));
  return btoa(s);
}

function unb64(s: string): ArrayBuffer {
  const a = atob(s);
  const u = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) u[i] = a.charCodeAt(i);
  return u.buffer;
}

function start(c: RecorderCtx): void {
  const w = c.windowId;
  const ss = c.ss;
  const seqKey = 'sl_seq_' + w;
  const prefix = 'sl_r_' + w + '_';
  const gapKey = 'sl_rg_' + w;
  let parts: string[] = [];
  let bytes = 0;
  let sid = c.sessionId();
  let paused = false;
  const outbox: Chunk[] = [];
  let pending = 0;
  // Bumped when a chunk is dropped: chunks cut before that and not yet
  // admitted follow the hole, and are dropped too.
  let epoch = 0;
  let gap = ss.get<Gap>(gapKey) || null;
  let sending = false;
  let attempt = 0;
  let retry = 0;
  let prep: Promise<unknown> = Promise.resolve();

  const url = (q: string, gz?: boolean) =>
    `${c.host}/api/replay?token=${encodeURIComponent(c.token)}&${q}${gz ? '&compression=gzip' : ''}`;

  const sizeOf = (k: string, r: Saved) => k.length + JSON.stringify(r).length;

  // What earlier pages of this tab could not deliver goes first.
  const seqOf = (k: string) => +k.slice(prefix.length);
  for (const k of ss.keys().filter((k) => k.startsWith(prefix)).sort((a, b) => seqOf(a) - seqOf(b))) {
    const rec = ss.get<Saved>(k);
    if (!rec || !rec.q) {
      ss.del(k);
      continue;
    }
    const n = sizeOf(k, rec);
    outbox.push({ k, q: rec.q, ep: epoch, m: 0, rec, n, saved: true });
    pending += n;
  }

  function save(ch: Chunk): void {
    // A chunk over the bound on its own (a huge page's snapshot) is sent
    // from memory only.
    if (!ch.saved && ch.rec && ch.n <= PENDING_MAX) {
      ss.set(ch.k, ch.rec);
      ch.saved = true;
    }
  }

  /** Takes a chunk out of the outbox; false if it was gone already. */
  function remove(ch: Chunk): boolean {
    const i = outbox.indexOf(ch);
    if (i < 0) return false;
    outbox.splice(i, 1);
    if (ch.rec) pending -= ch.n;
    if (ch.saved) ss.del(ch.k);
    return true;
  }

  /** Opted out, or capture switched off: what waits is dropped too. */
  function purge(): void {
    if (!c.active()) outbox.slice().forEach(remove);
  }

  function drop(ch: Chunk): void {
    if (!remove(ch)) return;
    if (ch.ep == epoch) epoch++;
    gap ||= { t: now(), e: 0, c: 0 };
    gap.e += ch.m;
    gap.c++;
    ss.set(gapKey, gap);
  }

  /** Counts a chunk against the bound, or drops it there. When nothing
   * waits, a chunk is taken whatever its size. */
  function admit(ch: Chunk, rec: Saved): boolean {
    const n = sizeOf(ch.k, rec);
    if (ch.ep != epoch || (pending && pending + n > PENDING_MAX)) {
      drop(ch);
      return false;
    }
    ch.rec = rec;
    ch.n = n;
    ch.body = undefined;
    pending += n;
    if (attempt) save(ch);
    return true;
  }

  /** Compresses and admits chunks one at a time, in order. */
  async function prepare(ch: Chunk): Promise<void> {
    if (ch.rec || outbox.indexOf(ch) < 0) return;
    const gz = await gzip(ch.body!);
    // The page may have hidden meanwhile and admitted it as it was.
    if (ch.rec || outbox.indexOf(ch) < 0) return;
    if (admit(ch, gz ? { q: ch.q, z: b64(gz) } : { q: ch.q, b: ch.body! })) send();
  }

  /** Closes the current chunk and queues it. With limit (a page going
   * away) it is cut into pieces of at most limit characters, each with its
   * own seq, so that each fits a beacon. */
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
      const seq = ss.get<number>(seqKey) || 0;
      ss.set(seqKey, seq + 1);
      const q = `session_id=${sid}&window_id=${w}&seq=${seq}&distinct_id=${encodeURIComponent(c.distinctId())}`;
      const ch: Chunk = { k: prefix + seq, q, ep: epoch, m: n, body, n: 0 };
      outbox.push(ch);
      // A chunk that cannot be prepared must not block the ones behind it.
      prep = prep.then(() => prepare(ch)).catch(guard(() => drop(ch)));
    }
  }

  /** Uploads admitted chunks in order, one at a time, once the session is
   * old enough to be worth keeping (minimum duration). */
  async function send(): Promise<void> {
    purge();
    const ch = outbox[0];
    if (sending || retry || !ch || !ch.rec || now() - c.sessionStart() < c.minDurationMs) return;
    sending = true;
    const z = ch.rec.z;
    const status = await post(url(ch.q, !!z), z ? unb64(z) : ch.rec.b!);
    sending = false;
    if (status == 0 || status == 429 || status >= 500) {
      // The server is away: from now on every chunk waits in storage too.
      if (!attempt++) outbox.forEach(save);
      retry = win.setTimeout(
        guard(() => {
          retry = 0;
          send();
        }),
        backoff(attempt),
      );
      return;
    }
    // Delivered, or refused for good (4xx): either way it is done.
    attempt = 0;
    remove(ch);
    resume();
    send();
  }

  /** Ends a gap once half the bound is free again. */
  function resume(): void {
    if (!gap || paused || pending > PENDING_MAX / 2) return;
    const g = gap;
    gap = null;
    ss.del(gapKey);
    record.addCustomEvent('$replay_gap', { dropped_events: g.e, dropped_chunks: g.c, from: g.t, to: now() });
    record.takeFullSnapshot(true);
  }

  function maskAttrs(id: number, a: Record<string, unknown> | undefined): void {
    let el: Element | null | undefined;
    const get = () => (el === undefined ? (el = record.mirror.getNode(id) as Element | null) : el);
    for (const k in a) {
      const v = a[k];
      if (typeof v == 'string' && v) a[k] = maskAttr(k, v, get, c.mode);
    }
  }
  function maskTree(n: SNode): void {
    maskAttrs(n.id, n.attributes);
    for (const k of n.childNodes || []) maskTree(k);
  }

  record({
    emit: guard(
      (
        e: {
          type: number;
          data: {
            href?: string;
            node?: SNode;
            source?: number;
            adds?: Array<{ node: SNode }>;
            attributes?: Array<{ id: number; attributes: Record<string, unknown> }>;
          };
        },
        checkout?: boolean,
      ) => {
        if (paused) return;
        if (gap) {
          gap.e++;
          return;
        }
        const d = e.data;
        // Meta events carry the page URL: scrub it as event URLs are.
        if (e.type == 4 && d.href) d.href = scrubUrl(d.href);
        // rrweb records attributes as they are: mask them in full snapshots
        // and in mutations (added nodes, changed attributes).
        if (e.type == 2 && d.node) maskTree(d.node);
        if (e.type == 3 && d.source == 0) {
          for (const a of d.adds || []) maskTree(a.node);
          for (const a of d.attributes || []) maskAttrs(a.id, a.attributes);
        }
        // A periodic full snapshot starts a new chunk, so that a chunk
        // boundary is a seek point.
        if (checkout) cut();
        const s = JSON.stringify(e);
        parts.push(s);
        bytes += s.length;
        // A full snapshot is uploaded at once (compressed) rather than left
        // for an unload beacon, which could not carry it uncompressed.
        if (bytes >= CHUNK_BYTES || e.type == 2) cut();
      },
    ),
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
  // A gap carried over from the last page: its first snapshot was dropped
  // above; take it again with the gap's record if there is room now.
  resume();
  send();

  win.setInterval(guard(cut), CHUNK_MS);

  on(win, 'error', (e: ErrorEvent) => {
    if (e instanceof ErrorEvent) record.addCustomEvent('$error', { message: scrub(String(e.message).slice(0, 500)) });
  });

  on(win, 'online', () => {
    if (retry) {
      win.clearTimeout(retry);
      retry = 0;
      send();
    }
  });

  c.onSession.push((id) => {
    cut();
    sid = id;
    paused = !c.sampled(id);
    // What was dropped at the end of the last session stays unmarked: the
    // new session starts whole.
    gap = null;
    ss.del(gapKey);
    if (!paused) record.takeFullSnapshot(true);
  });

  // The page is going away: send what is left with beacons, without
  // waiting for compression (sendBeacon must be called before the handler
  // returns). A beacon's delivery is never confirmed, so unless the server
  // has been answering, chunks also stay in storage for the next page of
  // the tab; the server stores a chunk sent twice once.
  on(win, 'pagehide', () => {
    cut(BEACON_BYTES);
    purge();
    const young = now() - c.sessionStart() < c.minDurationMs;
    for (const ch of outbox.slice()) {
      if (!ch.rec && !admit(ch, { q: ch.q, b: ch.body! })) continue;
      const z = ch.rec!.z;
      if (young || attempt || !beacon(url(ch.q, !!z), z ? unb64(z) : ch.rec!.b!)) save(ch);
    }
    if (gap) ss.set(gapKey, gap);
  });
  on(doc, 'visibilitychange', () => doc.visibilityState == 'hidden' && cut());
}

const me = doc.currentScript;
me?.dispatchEvent(new CustomEvent(RECORDER_EVENT, { detail: guard(start) }));
