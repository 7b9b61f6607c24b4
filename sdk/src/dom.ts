// Describing elements: the element chain, a stable selector, and whether a
// click target is something a person expects to react.

import type { MaskingMode } from './api';
import { masked, scrub, scrubUrl } from './privacy';
import { doc, win } from './util';

/** One node of an element chain; field names are the server's (event.Element). */
export interface El {
  tag: string;
  id?: string;
  classes?: string[];
  text?: string;
  href?: string;
  attrs?: Record<string, string>;
  nth_child?: number;
  nth_of_type?: number;
}

// The contenteditable attribute, read without isContentEditable, which needs
// computed style and can force a style recalc.
const editable = (el: Element): boolean => !!el.closest('[contenteditable]:not([contenteditable=false])');

const TAGS = /^(A|BUTTON|INPUT|SELECT|TEXTAREA|LABEL|SUMMARY|OPTION)$/;
const ROLES = /^(button|link|checkbox|radio|switch|tab|menuitem\w*|option|combobox|slider|spinbutton|treeitem)$/;

function isInteractive(el: Element): boolean {
  return (
    (TAGS.test(el.tagName) && (el.tagName != 'A' || el.hasAttribute('href'))) ||
    ROLES.test(el.getAttribute('role') || '') ||
    el.hasAttribute('onclick') ||
    /^(|true|plaintext-only)$/.test(el.getAttribute('contenteditable') ?? 'no')
  );
}

/** The element a click on t acts on: the nearest interactive ancestor within
 * a few levels, else (with cursor) the outermost ancestor still showing a
 * pointer cursor (framework click handlers on plain divs), else null.
 * The cursor test reads computed style, which may force a style recalc:
 * fine once per click, too much on every pointer move. */
export function interactive(t: Element, cursor?: boolean): Element | null {
  let n: Element | null = t;
  for (let i = 0; n && n != doc.body && i < 6; i++, n = n.parentElement) {
    if (isInteractive(n)) return n;
  }
  if (!cursor) return null;
  let found: Element | null = null;
  n = t;
  for (let i = 0; n && n != doc.body && i < 6; i++, n = n.parentElement) {
    if (getComputedStyle(n).cursor != 'pointer') break;
    found = n;
  }
  return found;
}

/** Text fields and steppers: repeated clicks there are normal, not rage. */
export function rageExempt(el: Element): boolean {
  const type = el.getAttribute('type') || '';
  return (
    /^(TEXTAREA|SELECT)$/.test(el.tagName) ||
    (el.tagName == 'INPUT' && !/^(button|submit|reset|checkbox|radio|image)$/.test(type)) ||
    editable(el) ||
    /spinbutton|slider/.test(el.getAttribute('role') || '') ||
    /^\s*([+\-<>‹›«»]|next|prev(ious)?|more|less|increase|decrease)\b/i.test(
      (el.getAttribute('aria-label') || el.textContent || '').slice(0, 20),
    )
  );
}

/** Clicks that react outside the page or only by focusing: never dead. */
export function deadExempt(el: Element): boolean {
  return (
    /^(INPUT|SELECT|TEXTAREA|LABEL|OPTION)$/.test(el.tagName) ||
    editable(el) ||
    (el.tagName == 'A' && (el.getAttribute('target') == '_blank' || el.hasAttribute('download')))
  );
}

const trim = (s: string, n: number): string => s.replace(/\s+/g, ' ').trim().slice(0, n);

function classes(el: Element): string[] {
  return trim(el.getAttribute('class') || '', 400)
    .split(' ')
    .filter((c) => c)
    .slice(0, 10);
}

/** 1-based position of el among its element siblings, and among those with
 * its tag; same is set when another sibling has its tag. */
function nth(el: Element): { child: number; type: number; same: boolean } {
  let child = 1;
  let type = 1;
  let same = false;
  for (let s = el.previousElementSibling; s; s = s.previousElementSibling) {
    child++;
    if (s.tagName == el.tagName) type++;
  }
  same = type > 1;
  for (let s = el.nextElementSibling; s && !same; s = s.nextElementSibling) same = s.tagName == el.tagName;
  return { child, type, same };
}

const ATTR = /^(name|role|type|aria-label|title|alt|placeholder|data-(?!sl-).*)$/;

/** The element chain from el up to (excluding) <body>, at most 16 nodes.
 * Only el carries its text; attribute values and text are scrubbed, and text
 * is dropped where it is masked. */
export function chain(el: Element, mode: MaskingMode): El[] {
  const out: El[] = [];
  for (let n: Element | null = el; n && n != doc.body && out.length < 16; n = n.parentElement) {
    const pos = nth(n);
    const o: El = { tag: n.tagName.toLowerCase(), nth_child: pos.child, nth_of_type: pos.type };
    if (n.id) o.id = n.id;
    const c = classes(n);
    if (c.length) o.classes = c;
    if (n == el && !/^(INPUT|SELECT|TEXTAREA)$/.test(n.tagName) && !masked(n, mode)) {
      const t = scrub(trim(n.textContent || '', 100));
      if (t) o.text = t;
    }
    const href = n.tagName == 'A' && n.getAttribute('href');
    if (href) o.href = scrubUrl(href.slice(0, 500));
    for (const a of Array.from(n.attributes)) {
      if (ATTR.test(a.name)) (o.attrs ||= {})[a.name] = scrub(a.value.slice(0, 100));
    }
    out.push(o);
  }
  return out;
}

const esc = (s: string): string => (win.CSS && CSS.escape ? CSS.escape(s) : s);
// Ids and classes that look generated (long digit runs, hashes) make brittle selectors.
const stable = (s: string): boolean => !/\d{3}|[A-Za-z]+\d+[A-Za-z]+\d/.test(s) && s.length < 40;

/** A CSS selector for el that survives restyling: the nearest stable id,
 * then tag, test attributes or up to two classes, and :nth-of-type only
 * where siblings share the tag. */
export function selector(el: Element): string {
  const parts: string[] = [];
  for (let n: Element | null = el; n && n != doc.body && parts.length < 8; n = n.parentElement) {
    if (n.id && stable(n.id)) {
      parts.unshift('#' + esc(n.id));
      break;
    }
    let p = n.tagName.toLowerCase();
    const test = n.getAttribute('data-testid');
    if (test) p += `[data-testid="${test.replace(/["\\]/g, '')}"]`;
    else
      for (const c of classes(n).filter(stable).slice(0, 2)) p += '.' + esc(c);
    const pos = nth(n);
    if (pos.same) p += `:nth-of-type(${pos.type})`;
    parts.unshift(p);
  }
  return parts.join(' > ');
}

/** Pointer facts of an event over el, in the server's field names. */
export function pointer(
  e: { pageX: number; pageY: number; clientX: number; clientY: number; detail?: number } | null,
  el: Element,
  mode: MaskingMode,
): Record<string, unknown> {
  const de = doc.documentElement;
  const p: Record<string, unknown> = {
    elements: chain(el, mode),
    selector: selector(el),
    viewport_width: win.innerWidth,
    viewport_height: win.innerHeight,
    document_width: de.scrollWidth,
    document_height: de.scrollHeight,
  };
  // detail 0 marks a keyboard-activated click: there is no pointer position.
  if (e && e.detail !== 0) {
    const r = el.getBoundingClientRect();
    const frac = (v: number, lo: number, len: number) =>
      len ? Math.round(Math.min(1, Math.max(0, (v - lo) / len)) * 1e4) / 1e4 : 0;
    p.x = Math.round(e.pageX);
    p.y = Math.round(e.pageY);
    p.offset_x = frac(e.clientX, r.left, r.width);
    p.offset_y = frac(e.clientY, r.top, r.height);
  }
  return p;
}
