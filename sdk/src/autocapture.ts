// Autocapture: page views and leaves (including SPA navigation), clicks,
// forms, errors, and the frustration signals of DESIGN.md. Each handler is
// guarded and passive; clicks are described once and the description is
// reused by the rage, dead and error detectors.

import type { Properties } from './api';
import type { Ctx } from './core';
import { deadExempt, interactive, pointer, rageExempt } from './dom';
import { blocked, scrub, scrubUrl, sensitive } from './privacy';
import { doc, guard, now, on, win } from './util';

type Pointer = Record<string, unknown>;

interface Click {
  t: number;
  x: number;
  y: number;
  el: Element;
  p: Pointer;
  n: number; // clicks in the current rage streak
  err?: boolean;
}

interface FormState {
  form: Element;
  start: number;
  changes: Map<Element, number>;
  submitted?: boolean;
}

const FIELD = 'input,select,textarea';

export function autocapture(c: Ctx): void {
  const o = c.o;
  const cap = c.capture;
  const opt = <T>(v: T | false | undefined, d: T): T | false => (v === false ? false : v ?? d);
  const rage = opt(o.rageClick, {});
  const rageN = (rage && rage.clicks) || 3;
  const rageMs = (rage && rage.intervalMs) || 1000;
  const rageR = (rage && rage.radiusPx) || 30;
  const deadMs = opt(o.deadClickMs, 2500);
  const errMs = opt(o.errorClickMs, 1000);
  const thrash = opt(o.thrash, {});
  const hesMs = opt(o.hesitationMs, 1500);
  const backMs = opt(o.quickBackMs, 5000);

  // ---- pages -------------------------------------------------------------

  let page = { url: '', prev: '', start: 0, scroll: 0 };
  type Nav = { u: string; p: string; t: number };
  // The page this tab showed before this load, for quick backs.
  const tabPrev = c.ss.get<Nav>('sl_nav')?.u;

  const scrollPct = () => {
    const de = doc.documentElement;
    const h = de.scrollHeight;
    return h ? Math.min(100, Math.round(((win.scrollY + win.innerHeight) / h) * 100)) : 100;
  };

  function leave(): void {
    if (!page.start) return;
    endHover();
    endStreak();
    abandonForms(page.url);
    if (o.capturePageleave !== false)
      cap('$pageleave', { $time_on_page_ms: now() - page.start, $max_scroll_pct: page.scroll }, { url: scrubUrl(page.url) });
    page.start = 0;
  }

  function view(nav: string): void {
    const href = location.href;
    if (href == page.url && page.start) return;
    const prev = page.url;
    // Going back to the page shown before this one, soon after this one
    // appeared, is a quick back; the event belongs to the page left.
    if (backMs && nav == 'pop' && href == page.prev && now() - page.start < backMs)
      cap('$quickback', { $dwell_ms: now() - page.start, $back_to: scrubUrl(href) }, { url: scrubUrl(prev) });
    leave();
    page = { url: href, prev, start: now(), scroll: scrollPct() };
    if (o.capturePageview !== false)
      cap('$pageview', { $nav: nav, $prev_url: prev ? scrubUrl(prev) : undefined }, {
        viewport_width: win.innerWidth,
        viewport_height: win.innerHeight,
      });
    c.ss.set('sl_nav', { u: href, p: prev || tabPrev || doc.referrer, t: page.start });
  }


  /** A page reached with "back" (a back/forward load, or restored from the
   * back/forward cache) right after the next page appeared: that next page,
   * recorded in sessionStorage, was a quick back. */
  function mpaBack(restored: boolean): void {
    const last = c.ss.get<Nav>('sl_nav');
    const nav = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (backMs && last && (restored || nav?.type == 'back_forward') && last.p == location.href && last.u != location.href && now() - last.t < backMs)
      cap('$quickback', { $dwell_ms: now() - last.t, $back_to: scrubUrl(location.href) }, { url: scrubUrl(last.u) });
  }

  const h = history;
  for (const m of ['pushState', 'replaceState'] as const) {
    const orig = h[m];
    // The page's call runs first and any error it throws is the page's own.
    h[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      guard(view)(m == 'pushState' ? 'push' : 'replace');
      return r;
    };
  }
  on(win, 'popstate', () => view('pop'));
  on(win, 'hashchange', () => view('hash'));
  on(win, 'pageshow', (e: PageTransitionEvent) => {
    if (e.persisted) mpaBack(true), view('bfcache');
  });
  on(win, 'pagehide', leave);
  on(win, 'scroll', () => {
    const s = scrollPct();
    if (s > page.scroll) page.scroll = s;
  });

  // ---- clicks and frustration ---------------------------------------------

  let last1: Click | null = null; // latest click, for rage and error clicks
  let pending: Click[] = []; // clicks waiting for a reaction
  let mo: MutationObserver | null = null;
  let streakTimer = 0;

  function endStreak(): void {
    win.clearTimeout(streakTimer);
    if (last1 && last1.n >= rageN) cap('$rageclick', { $clicks: last1.n }, last1.p);
    if (last1) last1.n = 0;
  }

  /** Anything the page did in response: the pending clicks were not dead. */
  function react(): void {
    pending = [];
    mo?.disconnect();
    mo = null;
  }

  on(doc, 'click', (e: MouseEvent) => {
    const t = e.target;
    if (!(t instanceof Element) || blocked(t)) return;
    const el = interactive(t, true);
    const subj = el || t;
    const p = pointer(e, subj, c.mode);
    if (o.captureClicks !== false) cap('$click', { $interactive: !!el }, p);
    const k: Click = { t: now(), x: e.pageX, y: e.pageY, el: subj, p, n: 1 };
    // Hesitation is the wait before acting: a click ends it, and the pointer
    // resting on the element afterwards is not another one.
    if (hov && hov.el == subj) endHover(true);

    // Rage: each click soon after and near the last one extends the streak;
    // the streak is reported when it ends.
    if (rage && !rageExempt(subj)) {
      const l = last1;
      if (l && l.n && k.t - l.t < rageMs && Math.hypot(k.x - l.x, k.y - l.y) < rageR) {
        k.n = l.n + 1;
        k.p = l.p; // report the streak where it started
      } else endStreak();
      win.clearTimeout(streakTimer);
      streakTimer = win.setTimeout(guard(endStreak), rageMs);
    } else endStreak();
    const inStreak = k.n > 1;
    last1 = k;

    // Dead: one check per streak, for interactive elements only.
    if (deadMs && el && !deadExempt(el) && !inStreak) {
      pending.push(k);
      if (!mo && typeof MutationObserver == 'function') {
        mo = new MutationObserver(guard(react));
        mo.observe(doc.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
      }
      win.setTimeout(
        guard(() => {
          if (pending.indexOf(k) < 0 || k.err) return;
          pending.splice(pending.indexOf(k), 1);
          if (!pending.length) react();
          cap('$deadclick', { $wait_ms: deadMs }, k.p);
        }),
        deadMs,
      );
    }
  });
  for (const ev of ['scroll', 'focusin', 'input', 'change', 'submit', 'popstate', 'hashchange', 'pagehide', 'beforeunload'])
    on(ev == 'focusin' || ev == 'input' || ev == 'change' || ev == 'submit' ? doc : win, ev, () => pending.length && react());
  on(doc, 'visibilitychange', () => pending.length && react());

  // ---- pointer movement: thrash and hesitation ----------------------------

  let dir = [0, 0];
  let lastPos = [0, 0];
  let turns: number[] = [];
  const thN = (thrash && thrash.changes) || 10;
  const thMs = (thrash && thrash.windowMs) || 2000;
  let hov: { el: Element; t: number; x: number; y: number; done?: boolean } | null = null;

  /** Ends the current hover (by a click when clicked), reporting it when
   * it lasted long enough. After a click the element stays hovered but done. */
  function endHover(clicked?: boolean): void {
    const h = hov;
    if (h && !h.done && hesMs && now() - h.t >= hesMs && !blocked(h.el))
      cap(
        '$hesitation',
        { $hover_ms: now() - h.t, $clicked: !!clicked },
        pointer({ pageX: h.x, pageY: h.y, clientX: h.x - win.scrollX, clientY: h.y - win.scrollY }, h.el, c.mode),
      );
    hov = clicked && h ? { ...h, done: true } : null;
  }

  if (thrash)
    on(doc, 'mousemove', (e: MouseEvent) => {
      const pos = [e.clientX, e.clientY];
      for (let i = 0; i < 2; i++) {
        const d = pos[i]! - lastPos[i]!;
        // Ignore jitter: a direction needs a few pixels to count.
        if (Math.abs(d) < 4) continue;
        const s = d > 0 ? 1 : -1;
        if (dir[i] && s != dir[i]) turns.push(e.timeStamp);
        dir[i] = s;
        lastPos[i] = pos[i]!;
      }
      while (turns.length && e.timeStamp - turns[0]! > thMs) turns.shift();
      if (turns.length >= thN) {
        cap('$thrash', { $direction_changes: turns.length }, {
          x: Math.round(e.pageX),
          y: Math.round(e.pageY),
          viewport_width: win.innerWidth,
          viewport_height: win.innerHeight,
        });
        turns = [];
      }
    });

  if (hesMs)
    on(doc, 'mouseover', (e: MouseEvent) => {
      const t = e.target;
      const el = t instanceof Element ? interactive(t) : null;
      if (hov && hov.el == el) return;
      endHover();
      if (el) hov = { el, t: now(), x: e.pageX, y: e.pageY };
    });

  // ---- forms --------------------------------------------------------------

  const forms: FormState[] = [];
  const fieldName = (f: Element) =>
    f.getAttribute('name') || f.id || (f.getAttribute('type') || f.tagName.toLowerCase()) + '#' + nthField(f);
  const fields = (form: Element) =>
    Array.from(form.querySelectorAll(FIELD)).filter((f) => !/^(hidden|submit|button|reset|image)$/.test(f.getAttribute('type') || ''));
  const nthField = (f: Element) => fields(formOf(f)).indexOf(f);
  const formOf = (f: Element): Element => f.closest('form') || doc.body;
  const formProps = (form: Element): Properties => ({
    $form_id: form.id || undefined,
    $form_name: form.getAttribute('name') || undefined,
  });

  function state(form: Element): FormState {
    let s = forms.find((x) => x.form == form && !x.submitted);
    if (!s) forms.push((s = { form, start: now(), changes: new Map() }));
    return s;
  }

  function abandonForms(url: string): void {
    for (const s of forms.splice(0)) {
      if (s.submitted || !s.changes.size || o.formAbandonment === false || o.captureForms === false) continue;
      const all = fields(s.form);
      const touched = all.filter((f) => s.changes.has(f));
      const lastIdx = all.indexOf(touched[touched.length - 1]!);
      cap(
        '$formabandon',
        {
          ...formProps(s.form),
          $duration_ms: now() - s.start,
          $fields: all.length,
          $touched: touched.map(fieldName),
          $skipped: all.slice(0, lastIdx).filter((f) => !s.changes.has(f)).map(fieldName),
          $reedited: touched.filter((f) => s.changes.get(f)! > 1).map(fieldName),
          $last_field: fieldName(touched[touched.length - 1]!),
        },
        { ...pointer(null, s.form, c.mode), url: scrubUrl(url) },
      );
    }
  }

  on(doc, 'change', (e: Event) => {
    const f = e.target;
    if (!(f instanceof Element) || !f.matches(FIELD) || blocked(f)) return;
    const s = state(formOf(f));
    s.changes.set(f, (s.changes.get(f) || 0) + 1);
    // Sensitive fields count for form abandonment but send no event at all.
    if (o.captureForms === false || sensitive(f)) return;
    cap(
      '$change',
      { ...formProps(s.form), $field_name: fieldName(f), $field_type: f.getAttribute('type') || f.tagName.toLowerCase() },
      pointer(null, f, c.mode),
    );
  });

  on(doc, 'submit', (e: SubmitEvent) => {
    const f = e.target;
    if (!(f instanceof Element) || blocked(f)) return;
    const s = state(f);
    s.submitted = true;
    if (o.captureForms !== false)
      cap(
        '$submit',
        { ...formProps(f), $duration_ms: now() - s.start, $fields: fields(f).length, $touched: fields(f).filter((x) => s.changes.has(x)).map(fieldName) },
        pointer(null, f, c.mode),
      );
  });

  // ---- errors --------------------------------------------------------------

  let errors = 0;
  function error(kind: string, msg: unknown, stack: unknown, source?: string, line?: number, col?: number): void {
    const k = last1;
    const m = scrub(String(msg || 'unknown error').slice(0, 1000));
    if (errMs && k && !k.err && now() - k.t <= errMs) {
      k.err = true; // an error explains a click that did nothing: not dead too
      cap('$errorclick', { $error_message: m }, k.p);
    }
    if (o.captureErrors === false || ++errors > 50) return;
    cap('$error', {
      $kind: kind,
      $message: m,
      $stack: stack ? scrub(String(stack).slice(0, 4000)) : undefined,
      $source: source ? scrubUrl(source) : undefined,
      $line: line,
      $column: col,
    });
  }
  on(win, 'error', (e: ErrorEvent) => {
    // Resource load failures reach capture-phase listeners too; they have no message.
    if (e instanceof ErrorEvent) error('error', e.message, e.error?.stack, e.filename, e.lineno, e.colno);
  });
  on(win, 'unhandledrejection', (e: PromiseRejectionEvent) => {
    const r = e.reason;
    error('unhandledrejection', r?.message ?? r, r?.stack);
  });

  // ---- first page ----------------------------------------------------------

  mpaBack(false);
  view('load');
}
