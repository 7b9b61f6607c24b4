// Small helpers shared by the core and the recorder. Everything here must be
// safe to call from any handler: nothing in the SDK may throw into the page.

export const win = window;
export const doc = document;
export const now = (): number => Date.now();

let debugOn = false;
export function setDebug(on: boolean): void {
  debugOn = on;
}
export function log(...a: unknown[]): void {
  if (debugOn) console.warn('[sightline]', ...a);
}

/** Wraps f so that any exception is swallowed (and logged in debug mode):
 * an analytics snippet must never break the page it measures. */
export function guard<A extends unknown[], R>(f: (...a: A) => R): (...a: A) => R | undefined {
  return (...a: A) => {
    try {
      return f(...a);
    } catch (e) {
      log(e);
      return undefined;
    }
  };
}

/** Adds a guarded, passive, capture-phase listener. */
export function on(
  t: EventTarget,
  type: string,
  f: (e: any) => void,
): void {
  t.addEventListener(type, guard(f), { capture: true, passive: true });
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 256).toString(16).slice(1));

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort
 * by creation time. */
// Random bytes are drawn in bulk: one getRandomValues call per 16 ids.
const pool = new Uint8Array(256);
let poolAt = 256;

export function uuid7(): string {
  if (poolAt == 256) crypto.getRandomValues(pool), (poolAt = 0);
  const b = pool.slice(poolAt, (poolAt += 16));
  let t = now();
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6]! & 15) | 0x70;
  b[8] = (b[8]! & 63) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A string key/value store: localStorage or sessionStorage, or memory in
 * cookieless mode or where storage is unavailable (private modes, quotas). */
export interface KV {
  get<T>(k: string): T | undefined;
  set(k: string, v: unknown): void;
  del(k: string): void;
  keys(): string[];
}

export function kv(kind: 'localStorage' | 'sessionStorage' | ''): KV {
  const mem: Record<string, string> = {};
  let s: Storage | undefined;
  try {
    s = kind ? win[kind] : undefined;
    s?.getItem('sl');
  } catch {
    s = undefined;
  }
  const raw = (k: string): string | null | undefined => (s ? s.getItem(k) : mem[k]);
  return {
    get: <T>(k: string): T | undefined => {
      try {
        const v = raw(k);
        return v ? (JSON.parse(v) as T) : undefined;
      } catch {
        return undefined;
      }
    },
    set: (k, v) => {
      const j = JSON.stringify(v);
      try {
        if (s) s.setItem(k, j);
        else mem[k] = j;
      } catch (e) {
        log('storage', e);
      }
    },
    del: (k) => {
      try {
        if (s) s.removeItem(k);
        else delete mem[k];
      } catch {
        /* storage gone: nothing to delete */
      }
    },
    keys: () => {
      try {
        return s ? Object.keys(s) : Object.keys(mem);
      } catch {
        return [];
      }
    },
  };
}

/** gzip through CompressionStream where the browser has it; null otherwise. */
export async function gzip(s: string): Promise<ArrayBuffer | null> {
  if (typeof CompressionStream != 'function') return null;
  try {
    const st = new Blob([s]).stream().pipeThrough(new CompressionStream('gzip'));
    return await new Response(st).arrayBuffer();
  } catch {
    return null;
  }
}

/** POSTs body as text/plain, a CORS "simple" request that needs no preflight.
 * Resolves to the HTTP status, or 0 when the server could not be reached. */
export async function post(url: string, body: BlobPart, keepalive?: boolean): Promise<number> {
  try {
    const r = await fetch(url, {
      method: 'POST',
      body: new Blob([body], { type: 'text/plain' }),
      keepalive: !!keepalive,
      credentials: 'omit',
    });
    return r.status;
  } catch {
    return 0;
  }
}

/** Sends body with sendBeacon (survives page unload), else fetch keepalive.
 * Both cap a request at 64 KB. */
export function beacon(url: string, body: string | ArrayBuffer): boolean {
  try {
    if (navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return true;
  } catch {
    /* fall through to fetch */
  }
  post(url, body, true);
  return (typeof body == 'string' ? body.length : body.byteLength) < 65000;
}

/** Exponential backoff with jitter: attempt 1 waits ~1 s, doubling to 30 s. */
export function backoff(attempt: number): number {
  return Math.min(30000, 1000 * 2 ** Math.max(0, attempt - 1)) * (0.5 + Math.random() / 2);
}
