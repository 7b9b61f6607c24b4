// Loads the replay recorder (dist/recorder.js) when the project records
// replays and this session is sampled. The recorder is a classic script; it
// hands its start function back through an event on its own <script>
// element, so neither bundle needs a global beyond `sightline`.

import type { ReplayOptions } from './api';
import type { Ctx } from './core';
import { doc, guard } from './util';

/** What the recorder receives from the core. */
export interface RecorderCtx extends Ctx {
  minDurationMs: number;
  /** Whether a session is recorded at the configured sample rate. */
  sampled(sessionId: string): boolean;
}

export const RECORDER_EVENT = 'sl-recorder';

export function replay(c: Ctx, r: ReplayOptions): void {
  const rate = r.sampleRate ?? 1;
  // Decided from the session id's random tail, so every page of a session
  // makes the same choice without storing it.
  const sampled = (id: string) => parseInt(id.slice(-8), 16) / 2 ** 32 < rate;
  if (!sampled(c.sessionId())) return;
  const rc: RecorderCtx = Object.assign(Object.create(null), c, { minDurationMs: r.minDurationMs || 0, sampled });
  const s = doc.createElement('script');
  s.async = true;
  s.src = c.o.recorderUrl || c.host + '/sdk/recorder.js';
  s.addEventListener(RECORDER_EVENT, guard((e: Event) => (e as CustomEvent<(c: RecorderCtx) => void>).detail(rc)));
  doc.head.appendChild(s);
}
