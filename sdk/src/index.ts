// The IIFE bundle (dist/sightline.js): installs window.sightline and replays
// the calls the snippet queued before the script arrived.

import { autocapture } from './autocapture';
import { create } from './core';
import { replay } from './replay';

const w = window as unknown as { sightline?: { __sl?: 1; _q?: Array<[string, unknown[]]> } };
const prev = w.sightline;
if (!prev || !prev.__sl) {
  const sl = create(autocapture, replay);
  w.sightline = sl as never;
  for (const [m, a] of (prev && prev._q) || []) {
    const f = (sl as unknown as Record<string, unknown>)[m];
    if (typeof f == 'function') f(...a);
  }
}
