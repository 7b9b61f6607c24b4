// The SDK core: configuration, identity and sessions, event building and
// the public API. Autocapture lives in autocapture.ts, delivery in
// transport.ts; the replay recorder is a separate bundle loaded on demand.

import type { InitOptions, MaskingMode, Properties, ReplayOptions, Sightline } from './api';
import { scrub, scrubUrl } from './privacy';
import { Ev, Transport } from './transport';
import { doc, guard, kv, KV, log, now, setDebug, uuid7, win } from './util';

export const VERSION = '0.1.0';

/** Settings from GET {host}/api/sdk/config. */
interface Remote {
  capture?: boolean;
  replay?: { enabled?: boolean; sample_rate?: number; min_duration_ms?: number };
  masking?: MaskingMode;
}

/** Persistent per-project state (localStorage, or memory when cookieless). */
interface Persist {
  d?: string; // distinct id
  a?: boolean; // d is anonymous
  s?: string; // session id
  ss?: number; // session start
  sl?: number; // session last activity
  p?: Properties; // registered properties
  o?: boolean; // opted out
}

export interface Ctx {
  o: InitOptions;
  token: string;
  host: string;
  mode: MaskingMode;
  ls: KV; // persistent store
  ss: KV; // per-tab store
  windowId: string;
  capture(event: string, props?: Properties, extra?: Record<string, unknown>): void;
  sessionId(): string;
  sessionStart(): number;
  distinctId(): string;
  /** Listeners run when the session id changes (the recorder re-snapshots). */
  onSession: Array<(id: string) => void>;
  /** False once the visitor opted out or the project switched capture off. */
  active(): boolean;
}

// The src of the script that loaded the SDK, read while it executes, so
// that init() needs no host when the SDK is served by the Sightline server.
const scriptSrc = (doc.currentScript as HTMLScriptElement | null)?.src;

export type Plugin = (c: Ctx) => void;

/** Builds the SDK object. autocapture and replay are passed in so that the
 * bundles can choose what they include. */
export function create(autocapture: Plugin, replay: (c: Ctx, r: ReplayOptions) => void): Sightline {
  let c: Ctx | undefined;
  let tr: Transport | undefined;
  let st: Persist = {};
  let key = '';
  let off = false; // opted out or Do-Not-Track
  let disabled = false; // the project (or init) switched capture off

  const persist = () => c && c.ls.set(key, st);
  // Session activity changes with every event; writing it to storage once a
  // second is enough for other tabs and the next page to see it.
  let persistTimer = 0;
  const persistSoon = () => {
    if (!persistTimer) persistTimer = win.setTimeout(() => ((persistTimer = 0), persist()), 1000);
  };

  function touchSession(): void {
    const t = now();
    const o = c!.o;
    if (!st.s || t - (st.sl || 0) > (o.sessionIdleMs || 1800000) || t - (st.ss || 0) > (o.sessionMaxMs || 86400000)) {
      st.s = uuid7();
      st.ss = t;
      for (const f of c!.onSession) guard(f)(st.s);
    }
    st.sl = t;
  }

  /** Queues an event. user marks properties that came from the page (track,
   * identify), which may hold values JSON cannot carry. */
  function capture(event: string, props?: Properties, extra?: Record<string, unknown>, user?: boolean): void {
    if (!c || !tr || off || disabled || !event) return;
    touchSession();
    const ev: Ev = {
      uuid: uuid7(),
      event: String(event).slice(0, 200),
      distinct_id: st.d!,
      session_id: st.s,
      window_id: c.windowId,
      timestamp: now(),
      url: scrubUrl(location.href),
      referrer: scrubUrl(doc.referrer),
      title: scrub(doc.title.slice(0, 300)),
      user_agent: navigator.userAgent,
      properties: { $lib: 'sightline-js', $lib_version: VERSION, ...c.o.properties, ...st.p, ...props },
      ...extra,
    };
    // Reject what JSON cannot carry (cycles, BigInt) here, not in the sender.
    if (user) JSON.stringify(ev);
    log(event, ev);
    tr.push(ev);
    persistSoon();
  }

  function applyRemote(r: Remote): void {
    const o = c!.o;
    if (o.masking == null && r.masking) c!.mode = r.masking;
    if ((o.capture ?? r.capture) === false) {
      disabled = true;
      tr!.clear();
      tr!.stopped = true;
      return;
    }
    tr!.ready = true;
    tr!.flush();
    const ro: ReplayOptions = typeof o.replay == 'object' ? o.replay : o.replay == null ? {} : { enabled: o.replay };
    const rr = r.replay || {};
    const merged = {
      enabled: ro.enabled ?? rr.enabled ?? false,
      sampleRate: ro.sampleRate ?? rr.sample_rate ?? 1,
      minDurationMs: ro.minDurationMs ?? rr.min_duration_ms ?? 0,
    };
    if (merged.enabled && !off) replay(c!, merged);
  }

  const api: Sightline & { __sl: 1 } = {
    __sl: 1,
    version: VERSION,
    init(token: string, o: InitOptions = {}) {
      if (c || !token) return;
      setDebug(!!o.debug);
      const host = (o.host || (scriptSrc ? new URL(scriptSrc).origin : location.origin)).replace(/\/+$/, '');
      const cl = !!o.cookieless;
      const ls = kv(cl ? '' : 'localStorage');
      const ss = kv(cl ? '' : 'sessionStorage');
      let w = ss.get<string>('sl_w');
      if (!w) ss.set('sl_w', (w = uuid7()));
      key = 'sl_' + token;
      st = ls.get<Persist>(key) || {};
      if (!st.d) (st.d = uuid7()), (st.a = true);
      const ctx: Ctx = {
        o,
        token,
        host,
        mode: o.masking || ls.get<MaskingMode>(key + '_m') || 'balanced',
        ls,
        ss,
        windowId: w,
        capture: guard(capture),
        sessionId: () => (touchSession(), st.s!),
        sessionStart: () => st.ss || now(),
        distinctId: () => st.d!,
        onSession: [],
        active: () => !off && !disabled,
      };
      c = ctx;
      const n = navigator as Navigator & { globalPrivacyControl?: boolean };
      off = !!st.o || (!!o.respectDoNotTrack && (n.doNotTrack == '1' || !!n.globalPrivacyControl));
      tr = new Transport({
        url: host + '/api/capture',
        token,
        store: ls,
        key: `sl_q_${token}_${w}`,
        interval: o.flushIntervalMs || 3000,
        batch: o.batchSize || 50,
        max: o.maxQueue || 1000,
      });
      touchSession();
      persist();
      const t = tr;
      if (o.autocapture !== false) autocapture(ctx);
      // Registered after autocapture so that its pagehide events ($pageleave,
      // $formabandon) are queued before the queue is handed to the beacon.
      const unload = guard(() => (t.unload(), persist()));
      win.addEventListener('pagehide', unload);
      doc.addEventListener('visibilitychange', () => doc.visibilityState == 'hidden' && unload());
      win.addEventListener('online', guard(() => t.flush(true)));
      if (o.remoteConfig === false) applyRemote({});
      else {
        // Until the settings arrive nothing is sent, so a project with capture
        // switched off receives nothing; a server that cannot answer leaves the
        // defaults (and init options) in force.
        let done = false;
        const apply = guard((r: Remote) => {
          if (done) return;
          done = true;
          applyRemote(r);
          if (r.masking) ls.set(key + '_m', r.masking);
        });
        fetch(`${host}/api/sdk/config?token=${encodeURIComponent(token)}`, { credentials: 'omit' })
          .then((r) => (r.ok ? r.json() : {}))
          .then(apply, () => apply({}));
        win.setTimeout(() => apply({}), 5000);
      }
    },
    track(event: string, props?: Properties) {
      capture(event, props, undefined, true);
    },
    identify(id: string, traits?: Properties) {
      if (!c || !id) return;
      id = String(id);
      const anon = st.a ? st.d : undefined;
      if (id != st.d) {
        st.d = id;
        st.a = false;
        persist();
      }
      capture('$identify', { $anon_distinct_id: anon, $set: traits }, undefined, true);
    },
    reset() {
      if (!c) return;
      st = { d: uuid7(), a: true, o: st.o };
      touchSession();
      persist();
    },
    register(props: Properties) {
      if (!c) return;
      st.p = { ...st.p, ...JSON.parse(JSON.stringify(props)) };
      persist();
    },
    unregister(name: string) {
      if (st.p) delete st.p[name];
      persist();
    },
    optOut() {
      st.o = off = true;
      tr?.clear();
      persist();
    },
    optIn() {
      st.o = off = false;
      persist();
    },
    hasOptedOut: () => !!st.o,
    release(version: string) {
      capture('$release', { version: String(version) });
    },
    flush() {
      tr?.flush(true);
    },
    getDistinctId: () => st.d || '',
    getSessionId: () => st.s || '',
  };
  // Every entry point is guarded: a bad argument must not throw into the page.
  for (const k of Object.keys(api) as Array<keyof typeof api>) {
    const f = api[k];
    if (typeof f == 'function') (api as any)[k] = guard(f as (...a: unknown[]) => unknown);
  }
  return api;
}
