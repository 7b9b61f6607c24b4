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

/** Masks emails, card numbers and the values of sensitive-looking query
 * parameters in a URL; digit runs are kept, as URLs hold ids. */
export function scrubUrl(u: string): string {
  return u
    .replace(CARD, (m) => (luhn(m) ? star(m) : m))
    .replace(EMAIL, star)
    .replace(/([?&;#][^=&#]*=)([^&#]*)/g, (m, k: string, v: string) =>
      SENSITIVE.test(k) || /mail|phone|name/i.test(k) ? k + star(v) : m,
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
