// The rrweb side of the dashboard, loaded only by the replay, heatmap and
// action-picker pages (a dynamic import: its own chunk).
//
// Safety: rrweb rebuilds a recorded page inside an iframe whose sandbox has
// allow-same-origin (so the player can reach the rebuilt DOM) and never
// allow-scripts, so nothing of the recorded page runs; rrweb also turns
// <script> into inert nodes, and the dashboard's CSP forbids inline and
// foreign scripts besides. harden() checks the sandbox after every build.

import { Replayer } from '@rrweb/replay';

export interface RREvent {
  type: number;
  timestamp: number;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// rrweb event types (rrweb's EventType enum).
export const EventType = { DomContentLoaded: 0, Load: 1, FullSnapshot: 2, IncrementalSnapshot: 3, Meta: 4, Custom: 5, Plugin: 6 } as const;

function harden(iframe: HTMLIFrameElement): void {
  const sb = (iframe.getAttribute('sandbox') ?? '')
    .split(/\s+/)
    .filter((t) => t && t !== 'allow-scripts' && t !== 'allow-top-navigation' && t !== 'allow-popups' && t !== 'allow-forms');
  if (!sb.includes('allow-same-origin')) sb.push('allow-same-origin');
  iframe.setAttribute('sandbox', sb.join(' '));
  iframe.setAttribute('referrerpolicy', 'no-referrer');
  iframe.setAttribute('title', 'Session recording');
  iframe.setAttribute('tabindex', '-1');
}

const quietLogger = { log: () => {}, warn: () => {} };

export interface Player {
  readonly startTime: number;
  readonly totalTime: number;
  readonly width: number;
  readonly height: number;
  readonly wrapper: HTMLElement;
  readonly iframe: HTMLIFrameElement;
  play(offset?: number): void;
  pause(offset?: number): void;
  current(): number;
  setSpeed(speed: number): void;
  setSkipInactive(skip: boolean): void;
  on(ev: 'finish' | 'resize' | 'skip-start' | 'skip-end', f: (d?: unknown) => void): void;
  destroy(): void;
}

/** Creates a paused player of one window's events inside root. */
export function createPlayer(root: HTMLElement, events: RREvent[], opts: { speed?: number; skipInactive?: boolean } = {}): Player {
  const sorted = [...events].sort((a, b) => a.timestamp - b.timestamp);
  const meta = sorted.find((e) => e.type === EventType.Meta);
  const r = new Replayer(sorted as never, {
    root,
    speed: opts.speed ?? 1,
    skipInactive: opts.skipInactive ?? true,
    showWarning: false,
    showDebug: false,
    mouseTail: { strokeStyle: '#f03e3e', lineWidth: 2, duration: 600 },
    triggerFocus: false,
    UNSAFE_replayCanvas: false,
    logger: quietLogger,
  });
  harden(r.iframe);
  const md = r.getMetaData();
  let width = Number(meta?.data?.width) || r.iframe.offsetWidth || 1280;
  let height = Number(meta?.data?.height) || r.iframe.offsetHeight || 800;
  const player: Player = {
    startTime: md.startTime,
    totalTime: md.totalTime,
    get width() {
      return width;
    },
    get height() {
      return height;
    },
    wrapper: r.wrapper,
    iframe: r.iframe,
    play: (offset) => r.play(offset ?? r.getCurrentTime()),
    pause: (offset) => (offset === undefined ? r.pause() : r.pause(offset)),
    current: () => r.getCurrentTime(),
    setSpeed: (speed) => r.setConfig({ speed }),
    setSkipInactive: (skip) => r.setConfig({ skipInactive: skip }),
    on: (ev, f) => {
      r.on(ev, (d: unknown) => {
        if (ev === 'resize' && d && typeof d === 'object') {
          const dim = d as { width: number; height: number };
          width = dim.width;
          height = dim.height;
        }
        harden(r.iframe);
        f(d);
      });
    },
    destroy: () => {
      try {
        r.pause();
        r.destroy();
      } catch {
        // A replayer that never started has nothing to tear down.
      }
      root.innerHTML = '';
    },
  };
  r.pause(0);
  return player;
}

export interface RebuiltPage {
  iframe: HTMLIFrameElement;
  doc: Document;
  width: number;
  height: number;
  destroy(): void;
}

/**
 * Rebuilds the page as it was offset ms into a window's recording, at full
 * document height, for heatmaps and element picking.
 */
export async function rebuildPage(root: HTMLElement, events: RREvent[], offset: number): Promise<RebuiltPage> {
  const p = createPlayer(root, events, { skipInactive: false });
  p.pause(Math.max(0, Math.min(offset, p.totalTime)));
  // Stylesheets and images load asynchronously; give them a moment before
  // measuring the document.
  await new Promise((res) => setTimeout(res, 300));
  const iframe = p.iframe;
  const doc = iframe.contentDocument;
  if (!doc) throw new Error('the recording could not be rebuilt');
  const width = p.width;
  const height = Math.min(20000, Math.max(p.height, doc.documentElement.scrollHeight, doc.body?.scrollHeight ?? 0));
  iframe.style.width = width + 'px';
  iframe.style.height = height + 'px';
  iframe.setAttribute('width', String(width));
  iframe.setAttribute('height', String(height));
  // The mouse cursor overlay belongs to playback, not to a still page.
  root.querySelectorAll('.replayer-mouse, canvas').forEach((el) => el.remove());
  return { iframe, doc, width, height, destroy: p.destroy };
}

/** The first window of a replay answer with a snapshot of a page whose path matches. */
export function findSnapshot(
  windows: { window_id: string; events: RREvent[] }[],
  matches: (href: string, width: number) => boolean,
): { events: RREvent[]; offset: number; width: number } | null {
  for (const w of windows) {
    const evs = [...w.events].sort((a, b) => a.timestamp - b.timestamp);
    const start = evs[0]?.timestamp ?? 0;
    let meta: RREvent | undefined;
    for (const e of evs) {
      if (e.type === EventType.Meta) meta = e;
      if (e.type === EventType.FullSnapshot && meta && matches(String(meta.data?.href ?? ''), Number(meta.data?.width ?? 0))) {
        return { events: evs, offset: e.timestamp - start + 1, width: Number(meta.data?.width ?? 0) };
      }
    }
  }
  return null;
}

// The picker must name an element exactly as the SDK names the clicks on it
// (sdk/src/dom.ts: interactive() and selector()), so that an action made by
// picking matches the clicks already stored, and the heatmap's element
// ranking (by stored selector) finds the element again on a rebuilt page.

const interactiveTags = /^(A|BUTTON|INPUT|SELECT|TEXTAREA|LABEL|SUMMARY|OPTION)$/;
const interactiveRoles = /^(button|link|checkbox|radio|switch|tab|menuitem\w*|option|combobox|slider|spinbutton|treeitem)$/;

function isInteractive(el: Element): boolean {
  return (
    (interactiveTags.test(el.tagName) && (el.tagName !== 'A' || el.hasAttribute('href'))) ||
    interactiveRoles.test(el.getAttribute('role') || '') ||
    (el.tagName === 'A' && (el.getAttribute('target') === '_blank' || el.hasAttribute('download')))
  );
}

/**
 * The element a click on t is recorded against: the nearest interactive
 * ancestor within a few levels, else the outermost ancestor still showing a
 * pointer cursor, else t itself (the SDK's interactive(t, true)).
 */
export function clickTarget(t: Element): Element {
  const body = t.ownerDocument.body;
  let n: Element | null = t;
  for (let i = 0; n && n !== body && i < 6; i++, n = n.parentElement) {
    if (isInteractive(n)) return n;
  }
  const view = t.ownerDocument.defaultView;
  let found: Element | null = null;
  n = t;
  for (let i = 0; view && n && n !== body && i < 6; i++, n = n.parentElement) {
    if (view.getComputedStyle(n).cursor !== 'pointer') break;
    found = n;
  }
  return found ?? t;
}

function classesOf(el: Element): string[] {
  return (el.getAttribute('class') || '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400)
    .split(' ')
    .filter((c) => c)
    .slice(0, 10);
}

// Ids and classes that look generated make brittle selectors (the SDK's
// stable()); rrweb's own state classes (":hover") never existed on the page.
const stable = (s: string): boolean => !/\d{3}|[A-Za-z]+\d+[A-Za-z]+\d/.test(s) && s.length < 40 && !s.includes(':');

function esc(s: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(s) : s;
}

/** The SDK's selector for el: the nearest stable id, then tag, data-testid or two classes, :nth-of-type where siblings share the tag. */
export function selectorFor(el: Element): string {
  const body = el.ownerDocument.body;
  const parts: string[] = [];
  for (let n: Element | null = el; n && n !== body && n.tagName.toLowerCase() !== 'html' && parts.length < 8; n = n.parentElement) {
    if (n.id && stable(n.id)) {
      parts.unshift('#' + esc(n.id));
      break;
    }
    let p = n.tagName.toLowerCase();
    const test = n.getAttribute('data-testid');
    if (test) p += `[data-testid="${test.replace(/["\\]/g, '')}"]`;
    else for (const c of classesOf(n).filter(stable).slice(0, 2)) p += '.' + esc(c);
    let type = 1;
    let same = false;
    for (let s = n.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === n.tagName) type++;
    same = type > 1;
    for (let s = n.nextElementSibling; s && !same; s = s.nextElementSibling) same = s.tagName === n.tagName;
    if (same) p += `:nth-of-type(${type})`;
    parts.unshift(p);
  }
  return parts.join(' > ');
}
