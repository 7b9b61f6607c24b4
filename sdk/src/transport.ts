// Batching and delivery of events: a bounded queue mirrored to storage so
// that unsent events survive reloads and offline spells, one request in
// flight at a time, gzip where the browser can, retries with backoff and
// jitter, and beacons when the page goes away. The server deduplicates by
// event uuid, so a batch that is sent twice is stored once.

import { backoff, beacon, gzip, KV, log, now, post, win } from './util';

export type Ev = Record<string, unknown> & { uuid: string };

interface Saved {
  t: number;
  e: Ev[];
}

export interface TransportOptions {
  url: string; // {host}/api/capture
  token: string;
  store: KV;
  key: string; // storage key of this window's queue
  interval: number;
  batch: number;
  max: number;
}

// A tab's saved queue untouched this long belongs to a closed tab: adopt it.
const ORPHAN_MS = 10000;

export class Transport {
  private q: Ev[] = [];
  private inflight: Ev[] | null = null;
  // Handed to sendBeacon, whose delivery is never confirmed: kept in storage
  // (not resent by this page) so that the next page load sends them again
  // in case the server was away. The server drops the copies by uuid.
  private beaconed: Ev[] = [];
  private keepalive = false; // the request in flight survives an unload
  private timer = 0;
  private saveTimer = 0;
  private attempt = 0;
  private retryAt = 0;
  /** Sending waits until the project settings are known. */
  ready = false;
  stopped = false;

  constructor(private o: TransportOptions) {
    const prefix = o.key.replace(/[^_]*$/, '');
    for (const k of o.store.keys()) {
      const s = k.startsWith(prefix) ? o.store.get<Saved>(k) : undefined;
      if (s && (k == o.key || now() - s.t > ORPHAN_MS)) {
        this.q.push(...(s.e || []));
        if (k != o.key) o.store.del(k);
      }
    }
    this.trim();
  }

  push(e: Ev): void {
    if (this.stopped) return;
    this.q.push(e);
    this.trim();
    // While the server answers, the queue lives a few seconds and reaches
    // storage when the page hides or unloads; once a send has failed, every
    // change is saved soon, so a crash or a kill loses nothing either.
    if (this.attempt) this.saveSoon();
    if (this.q.length >= this.o.batch) this.flush();
    else this.schedule(this.o.interval);
  }

  /** Drops everything queued (opt-out, capture switched off). */
  clear(): void {
    this.q = [];
    this.beaconed = [];
    this.save();
  }

  private trim(): void {
    let over = this.q.length + (this.inflight?.length || 0) + this.beaconed.length - this.o.max;
    if (over > 0) over -= this.beaconed.splice(0, over).length;
    if (over > 0) this.q.splice(0, over);
  }

  private schedule(ms: number): void {
    if (!this.timer) this.timer = win.setTimeout(() => ((this.timer = 0), this.flush()), ms);
  }

  private saveSoon(): void {
    if (!this.saveTimer) this.saveTimer = win.setTimeout(() => ((this.saveTimer = 0), this.save()), 500);
  }

  save(): void {
    const e = this.beaconed.concat(this.inflight || [], this.q);
    if (e.length) this.o.store.set(this.o.key, { t: now(), e });
    else this.o.store.del(this.o.key);
  }

  /** Sends the next batch now unless one is in flight or a retry is pending;
   * force skips the retry wait (flush(), coming back online). */
  flush(force?: boolean): void {
    if (force) this.retryAt = 0;
    if (this.inflight || !this.ready || this.stopped || !this.q.length) return;
    const wait = this.retryAt - now();
    if (wait > 0 || navigator.onLine === false) {
      this.schedule(Math.max(wait, 1000));
      return;
    }
    const batch = this.q.splice(0, this.o.batch);
    this.inflight = batch;
    this.send(batch).then(
      (status) => this.done(batch, status),
      () => this.done(batch, 0),
    );
  }

  private async send(batch: Ev[]): Promise<number> {
    this.keepalive = false;
    const body = JSON.stringify({ token: this.o.token, sent_at: now(), events: batch });
    const gz = await gzip(body);
    // keepalive lets the request finish if the page unloads meanwhile; the
    // browser allows it for small bodies only.
    this.keepalive = (gz ? gz.byteLength : body.length) < 60000;
    return post(gz ? this.o.url + '?compression=gzip' : this.o.url, gz || body, this.keepalive);
  }

  private done(batch: Ev[], status: number): void {
    this.inflight = null;
    if (status == 0 || status == 429 || status >= 500) {
      // Transient: put the batch back in front and retry later.
      this.q.unshift(...batch);
      this.retryAt = now() + backoff(++this.attempt);
      log('send failed', status, 'retry in', this.retryAt - now());
      this.schedule(this.retryAt - now());
    } else {
      // 2xx, or a 4xx that no retry would fix (malformed, unknown token, too large).
      if (status >= 300) log('batch dropped', status);
      this.attempt = 0;
      this.retryAt = 0;
      // The server answers again: confirm the beaconed events by resending
      // them with fetch, so they need not linger in storage.
      if (status < 300) this.q.unshift(...this.beaconed.splice(0));
      if (this.q.length) this.schedule(this.q.length >= this.o.batch ? 0 : this.o.interval);
    }
    this.save();
  }

  /** The page is going away (or hidden, which may be the last chance): hand
   * everything not in flight to sendBeacon, uncompressed because compression
   * is asynchronous and the page may not live to finish it. */
  unload(): void {
    // A batch in flight that is still being compressed, or too big for
    // keepalive, dies with the page: send it again (the server keeps one).
    if (this.inflight && !this.keepalive) this.q.unshift(...this.inflight.splice(0));
    // Not waiting for the settings here: a page left before they arrived
    // would keep its events until the next visit. (A project with capture
    // switched off stops the transport, and its server refuses them anyway.)
    while (!this.stopped && this.q.length) {
      let n = Math.min(this.q.length, this.o.batch);
      let body = '';
      for (; n > 0; n = Math.floor(n / 2)) {
        body = JSON.stringify({ token: this.o.token, sent_at: now(), events: this.q.slice(0, n) });
        if (body.length < 60000 || n == 1) break;
      }
      if (!beacon(this.o.url, body)) break;
      this.beaconed.push(...this.q.splice(0, n));
    }
    this.save();
  }
}
