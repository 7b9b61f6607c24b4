// The privacy rules shared by events and replay (docs/privacy.md is the user
// facing description; keep both in step).

import type { MaskingMode } from './api';

export const NO_CAPTURE = '[data-sl-no-capture]';

/** Field names and autocomplete tokens whose values never leave the page. */
const SENSITIVE =
  /pass|pwd|secret|token|card|cc-|cc.?(num|csc|cvv|exp)|cvv|cvc|csc|ssn|social.?sec|iban|routing|account.?n/i;

const EMAIL = /[\w.+-]+@[\w-]+(\.[\w-]+)+/g;
// 13..19 digits, optionally grouped by single spaces or dashes: card-shaped.
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
// Nine or more digits, optionally grouped: SSNs, phone, account numbers.
const DIGITS = /\d(?:[ -]?\d){8,}/g;

const star = (s: string): string => s.replace(/\S/g, '*');

function luhn(s: string): boolean {
  const d = s.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let v = +d[d.length - 1 - i]!;
    if (i % 2) v = v > 4 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 == 0;
}

/** Masks the sensitive patterns in free text. Card numbers (Luhn-valid) are
 * masked in every mode; emails and long digit runs unless mode is relaxed. */
export function scrub(s: string, mode: MaskingMode = 'balanced'): string {
  // Most text has neither digits nor '@': skip the patterns (this runs on
  // every text node a replay records).
  if (!/[\d@]/.test(s)) return s;
  s = s.replace(CARD, (m) => (luhn(m) ? star(m) : m));
  return mode == 'relaxed' ? s : s.replace(EMAIL, star).replace(DIGITS, star);
}

// Query parameters (with their leading ? & ; or # and trailing =) that
// carry personal data or credentials: signed URLs, OAuth codes, API keys.
const SECRET_PARAM = /mail|phone|name|[\W_](api_?key|key|sig(nature)?|code|auth\w*|credential|session(_?id)?|otp|jwt)=$/i;

/** Masks emails, card numbers and the values of sensitive-looking query
 * parameters in a URL (digit runs are kept, as URLs hold ids), and the
 * whole address of mailto:, tel: and sms: links. Values end at whitespace
 * so that each URL of a srcset is scrubbed on its own. */
export function scrubUrl(u: string): string {
  const m = /^\s*(mailto|tel|sms|callto|fax):/i.exec(u);
  if (m) return m[0] + star(u.slice(m[0].length));
  return u
    .replace(CARD, (m) => (luhn(m) ? star(m) : m))
    .replace(EMAIL, star)
    .replace(/([?&;#][^=&#\s]*=)([^&#\s]*)/g, (m, k: string, v: string) =>
      SENSITIVE.test(k) || SECRET_PARAM.test(k) ? k + star(v) : m,
    );
}

/** True for form fields whose value must never be captured, even masked. */
export function sensitive(el: Element): boolean {
  const a = (n: string) => el.getAttribute(n) || '';
  return (
    a('type') == 'password' ||
    SENSITIVE.test(a('name') + ' ' + a('id') + ' ' + a('autocomplete'))
  );
}

/** True inside a subtree the page excluded from capture. */
export const blocked = (el: Element): boolean => !!el.closest(NO_CAPTURE);

/** Whether text inside el is wholly masked: under data-sl-mask, or in strict
 * mode; the nearest data-sl-unmask ancestor lifts either. */
export function masked(el: Element | null, mode: MaskingMode): boolean {
  const m = el?.closest('[data-sl-mask],[data-sl-unmask]');
  return m ? m.hasAttribute('data-sl-mask') : mode == 'strict';
}

/** The text masking used by the replay recorder (rrweb maskTextFn). */
export function maskText(text: string, el: Element | null, mode: MaskingMode): string {
  return masked(el, mode) ? star(text) : scrub(text, mode);
}

/** The input masking used by the replay recorder (rrweb maskInputFn): every
 * value is masked unless a non-sensitive field opted in with data-sl-unmask
 * (never in strict mode). */
export function maskInput(text: string, el: Element | null, mode: MaskingMode): string {
  return el && mode != 'strict' && el.closest('[data-sl-unmask]') && !sensitive(el)
    ? scrub(text, mode)
    : star(text);
}

// Attributes a replay needs verbatim to render, which hold markup rather
// than page text: layout, form and media switches, SVG geometry and paint,
// and rrweb's own (rr_*, _cssText).
const KEEP_ATTR =
  /^(class|id|style|type|role|rel|name|for|lang|dir|tabindex|width|height|size|span|colspan|rowspan|cols|rows|start|reversed|media|sizes|align|valign|border|cellpadding|cellspacing|bgcolor|color|hidden|disabled|checked|selected|readonly|required|multiple|open|autocomplete|autofocus|autoplay|controls|loop|muted|playsinline|preload|draggable|contenteditable|spellcheck|translate|inputmode|enterkeyhint|maxlength|minlength|min|max|step|accept|crossorigin|integrity|referrerpolicy|loading|decoding|fetchpriority|async|defer|charset|http-equiv|target|method|enctype|novalidate|sandbox|allow|allowfullscreen|frameborder|scrolling|shape|coords|usemap|xmlns(:\w+)?|viewbox|preserveaspectratio|d|points|transform|x[12]?|y[12]?|cx|cy|r|rx|ry|dx|dy|fx|fy|fill(-\w+)?|stroke(-\w+)*|opacity|offset|stop-\w+|clip-\w+|clippathunits|mask|filter|font-\w+|text-anchor|dominant-baseline|gradient\w+|pattern\w+|marker-\w+|pathlength|version|focusable|_csstext|rr_\w+|data-(rr|sl)-[\w-]+)$/i;
// Attributes holding URLs (rr_src is where rrweb keeps an iframe's src).
const URL_ATTR = /^(href|src|srcset|action|formaction|poster|cite|background|xlink:href|ping|longdesc|data|rr_src)$/i;
// Form fields whose value attribute is what was (or will be) typed.
const FIELD = /^(INPUT|TEXTAREA|SELECT)$/;

/** The attribute masking of the replay recorder. URLs are scrubbed as event
 * URLs are (data: URIs are left alone); attributes needed to render are
 * kept; the value attribute of a form field is masked as its value is; and
 * every other attribute (title, alt, placeholder, aria-*, data-*, button
 * labels…) is masked as page text is, by mode. el is asked for only when
 * the answer depends on where the element sits (data-sl-mask / unmask). */
export function maskAttr(name: string, v: string, el: () => Element | null, mode: MaskingMode): string {
  if (URL_ATTR.test(name)) return /^\s*data:/i.test(v) ? v : scrubUrl(v);
  if (KEEP_ATTR.test(name)) return v;
  const e = el();
  return name == 'value' && (!e || (FIELD.test(e.tagName) && !/^(button|submit|reset)$/i.test(e.getAttribute('type') || '')))
    ? maskInput(v, e, mode)
    : maskText(v, e, mode);
}
