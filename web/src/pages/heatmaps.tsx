import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { useAsync, useWidth } from '../lib/hooks';
import { fmtNum, fmtPct, pathOf } from '../lib/format';
import { runQuery, type HeatmapResult, type SessionsResult, type TrendsResult } from '../lib/query';
import { setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { DateRange, Suggest } from '../ui/controls';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';
import { useRange } from './overview';
import { fetchReplay, type StoredEvent } from './replay';
import type { RebuiltPage, RREvent } from '../replay/player';

const viewports: [string, string, number][] = [
  ['desktop', 'Desktop', 1280],
  ['tablet', 'Tablet', 820],
  ['mobile', 'Mobile', 390],
];

/** A path pattern ("/product/*") as a test on a URL's path. */
export function pathMatcher(pattern: string): (url: string) => boolean {
  const want = pathOf(pattern).split('?')[0]!;
  const re = new RegExp('^' + want.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^?#]*') + '/?$');
  return (url) => re.test(pathOf(url).split('?')[0]!);
}

export interface Snapshot {
  sessionID: string;
  events: RREvent[];
  offset: number;
}

/** The viewport bucket of a width, as the heatmap query defines them. */
export function viewportOf(width: number): string {
  if (width >= 1024) return 'desktop';
  if (width >= 768) return 'tablet';
  return 'mobile';
}

/**
 * Finds a recorded snapshot of a page: a session with a replay that visited
 * it, preferring a recording made at the viewport's width.
 */
export async function findPageSnapshot(pid: number, url: string, viewport: string, from: string, to: string, signal?: AbortSignal): Promise<Snapshot | null> {
  const matches = pathMatcher(url);
  const sessions = await runQuery<SessionsResult>(
    pid,
    { kind: 'sessions', date_from: from, date_to: to, visited_url: pathOf(url).split('?')[0], has_replay: true, limit: 10 },
    signal,
  );
  const { findSnapshot } = await import('../replay/player');
  let fallback: Snapshot | null = null;
  for (const s of sessions.sessions) {
    const rep = await fetchReplay(pid, s.session_id, signal);
    if (!rep) continue;
    let found: Snapshot | null = null;
    let width = 0;
    const snap = findSnapshot(rep.windows, (href) => matches(href));
    if (snap) {
      found = { sessionID: s.session_id, events: snap.events, offset: snap.offset };
      width = snap.width;
    } else {
      // A single-page app changes pages without a new snapshot: rebuild the
      // recording up to the pageview of that URL instead.
      const evs = await get<{ events: StoredEvent[] }>(`/api/projects/${pid}/events?session_id=${encodeURIComponent(s.session_id)}&event=$pageview`, signal);
      const pv = evs.events.find((e) => matches(e.url));
      if (pv) {
        const t = Date.parse(pv.timestamp);
        const w = rep.windows.find((w) => w.events.length >= 2 && w.events[0]!.timestamp <= t && w.events[w.events.length - 1]!.timestamp >= t);
        if (w) {
          found = { sessionID: s.session_id, events: w.events, offset: t - w.events[0]!.timestamp + 1500 };
          width = Number(w.events.find((e) => e.type === 4)?.data?.width ?? 0);
        }
      }
    }
    if (!found) continue;
    if (!viewport || viewport === 'all' || viewportOf(width) === viewport) return found;
    fallback ??= found;
  }
  return fallback;
}

type Layer = 'clicks' | 'scroll' | 'rage' | 'dead';

export function HeatmapPage() {
  useTitle('Heatmaps');
  const p = useProject();
  const loc = useLocation();
  const r = useRange();
  const url = loc.query.get('url') ?? '';
  const viewport = loc.query.get('viewport') ?? 'desktop';
  const layer = (loc.query.get('layer') ?? 'clicks') as Layer;
  const [draft, setDraft] = useState(url);
  useEffect(() => setDraft(url), [url]);
  const pages = useAsync(
    (s) => runQuery<TrendsResult>(p.id, { kind: 'trends', date_from: r.from, date_to: r.to, series: [{ event: '$pageview' }], breakdown: { prop: 'path', limit: 25 } }, s),
    [p.id, r.from, r.to],
  );
  const pageOptions = (pages.data?.series ?? []).map((s) => s.breakdown_value ?? '').filter((v) => v && !v.startsWith('$'));
  useEffect(() => {
    if (!url && pageOptions[0]) setParams({ url: pageOptions[0] });
  }, [url, pageOptions[0]]);

  const heat = useAsync(
    (s) => (url ? runQuery<HeatmapResult>(p.id, { kind: 'heatmap', date_from: r.from, date_to: r.to, url, viewport, grid: 10, limit: 30 }, s) : Promise.resolve(null)),
    [p.id, url, viewport, r.from, r.to],
  );
  const snap = useAsync((s) => (url ? findPageSnapshot(p.id, url, viewport, r.from, r.to, s) : Promise.resolve(null)), [p.id, url, viewport, r.from, r.to]);
  const [hover, setHover] = useState<string | null>(null);

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Heatmaps</h1>
          <p>Where people click and how far they scroll, drawn over the page as it was recorded.</p>
        </div>
        <DateRange from={r.from} to={r.to} onChange={r.set} />
      </div>
      <form
        class="card row"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ url: draft });
        }}
      >
        <label class="grow">
          Page
          <Suggest id="heat-url" label="Page URL or pattern" value={draft} placeholder="/pricing or /product/*" options={pageOptions} onInput={setDraft} />
        </label>
        <button type="submit">Show</button>
        <label>
          Device width
          <select value={viewport} onChange={(e) => setParams({ viewport: (e.target as HTMLSelectElement).value })}>
            {viewports.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <fieldset class="row" style={{ border: 'none', padding: 0 }}>
          <legend class="sr-only">Layer</legend>
          {(['clicks', 'rage', 'dead', 'scroll'] as Layer[]).map((l) => (
            <label key={l} class="inline">
              <input type="radio" name="layer" value={l} checked={layer === l} onChange={() => setParams({ layer: l === 'clicks' ? null : l })} />
              {l === 'clicks' ? 'Clicks' : l === 'rage' ? 'Rage clicks' : l === 'dead' ? 'Dead clicks' : 'Scroll depth'}
            </label>
          ))}
        </fieldset>
      </form>
      {!url ? <Empty title="Pick a page to see its heatmap." /> : null}
      {url ? (
        <div class="heat-layout">
          <div class="card stack">
            <Progress active={heat.loading || snap.loading} />
            {heat.error ? <ErrorState error={heat.error} retry={heat.reload} /> : null}
            {snap.error ? <ErrorState error={snap.error} retry={snap.reload} /> : null}
            {snap.loading && !snap.data ? <Loading label="Rebuilding the page from a recording…" /> : null}
            {!snap.loading && !snap.error && !snap.data ? (
              <Empty title="No recording of this page yet.">The heat is drawn over a replay snapshot: turn replays on in settings, then visit the page.</Empty>
            ) : null}
            {snap.data ? <HeatStage snap={snap.data} heat={heat.data ?? null} layer={layer} hover={hover} /> : null}
            {snap.data ? (
              <p class="small muted">
                Page rebuilt from <Link href={`/p/${p.id}/replay/${encodeURIComponent(snap.data.sessionID)}`}>a recorded session</Link>.
              </p>
            ) : null}
          </div>
          <aside class="card">
            <h2>Elements</h2>
            {heat.loading && !heat.data ? <Loading /> : null}
            {heat.data ? (
              <div class="stack">
                <div class="small muted">
                  {fmtNum(heat.data.clicks)} clicks · {fmtNum(heat.data.pageviews)} pageviews
                </div>
                {heat.data.elements.length === 0 ? (
                  <Empty title="No clicks on this page in this range." />
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th>Element</th>
                        <th class="num">Clicks</th>
                        <th class="num">Rage</th>
                        <th class="num">Dead</th>
                      </tr>
                    </thead>
                    <tbody>
                      {heat.data.elements.map((el) => (
                        <tr
                          key={el.selector}
                          tabIndex={0}
                          onMouseEnter={() => setHover(el.selector)}
                          onMouseLeave={() => setHover(null)}
                          onFocus={() => setHover(el.selector)}
                          onBlur={() => setHover(null)}
                        >
                          <td class="mono small" style={{ overflowWrap: 'anywhere' }}>
                            {el.selector}
                          </td>
                          <td class="num">{fmtNum(el.clicks)}</td>
                          <td class="num">{el.rage_clicks ? <span class="badge rage">{el.rage_clicks}</span> : 0}</td>
                          <td class="num">{el.dead_clicks ? <span class="badge dead">{el.dead_clicks}</span> : 0}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                {heat.data.scroll_measured > 0 ? (
                  <div class="small">
                    Half of the visits scrolled past {(heat.data.scroll.filter((s) => s.share >= 0.5).pop()?.percent ?? 0).toString()}% of the page.
                  </div>
                ) : null}
              </div>
            ) : null}
          </aside>
        </div>
      ) : null}
    </div>
  );
}

// Heat colours from cold to hot, as in every heatmap tool people know.
const stops: [number, [number, number, number]][] = [
  [0, [0, 0, 255]],
  [0.35, [0, 255, 255]],
  [0.55, [0, 255, 0]],
  [0.75, [255, 255, 0]],
  [1, [255, 0, 0]],
];

function colour(a: number): [number, number, number] {
  for (let i = 1; i < stops.length; i++) {
    const [p1, c1] = stops[i]!;
    const [p0, c0] = stops[i - 1]!;
    if (a <= p1) {
      const t = (a - p0) / (p1 - p0);
      return [c0[0] + (c1[0] - c0[0]) * t, c0[1] + (c1[1] - c0[1]) * t, c0[2] + (c1[2] - c0[2]) * t];
    }
  }
  return stops[stops.length - 1]![1];
}

export function drawClicks(canvas: HTMLCanvasElement, points: { x: number; y: number; count: number }[], grid: number): void {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length === 0) return;
  const max = Math.max(...points.map((p) => p.count));
  const radius = Math.max(14, grid * 1.6);
  for (const pt of points) {
    const cx = pt.x + grid / 2;
    const cy = pt.y + grid / 2;
    const g = ctx.createRadialGradient(cx, cy, 0, cx, cy, radius);
    g.addColorStop(0, `rgba(0,0,0,${Math.min(1, 0.15 + (0.85 * pt.count) / max)})`);
    g.addColorStop(1, 'rgba(0,0,0,0)');
    ctx.fillStyle = g;
    ctx.fillRect(cx - radius, cy - radius, radius * 2, radius * 2);
  }
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3]! / 255;
    if (a === 0) continue;
    const [r, g, b] = colour(a);
    d[i] = r;
    d[i + 1] = g;
    d[i + 2] = b;
    d[i + 3] = Math.min(255, 40 + a * 200);
  }
  ctx.putImageData(img, 0, 0);
}

function drawScroll(canvas: HTMLCanvasElement, scroll: HeatmapResult['scroll']): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const h = canvas.height;
  for (const s of scroll) {
    if (s.percent >= 100) continue;
    const y0 = (s.percent / 100) * h;
    const y1 = ((s.percent + 5) / 100) * h;
    const [r, g, b] = colour(s.share);
    ctx.fillStyle = `rgba(${r},${g},${b},0.35)`;
    ctx.fillRect(0, y0, canvas.width, y1 - y0);
  }
  ctx.font = 'bold 14px system-ui, sans-serif';
  for (const s of scroll) {
    if (s.percent % 25 !== 0 || s.percent === 0 || s.percent === 100) continue;
    const y = (s.percent / 100) * h;
    ctx.fillStyle = 'rgba(0,0,0,0.7)';
    ctx.fillRect(0, y - 1, canvas.width, 2);
    ctx.fillRect(8, y - 24, 190, 22);
    ctx.fillStyle = '#fff';
    ctx.fillText(`${fmtPct(s.share, 0)} reached ${s.percent}%`, 14, y - 8);
  }
}

function drawBoxes(canvas: HTMLCanvasElement, doc: Document, els: { selector: string; n: number }[], color: string, clear = true): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  if (clear) ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 3;
  ctx.font = 'bold 13px system-ui, sans-serif';
  for (const { selector, n } of els) {
    let el: Element | null = null;
    try {
      el = doc.querySelector(selector);
    } catch {
      el = null;
    }
    if (!el) continue;
    const r = el.getBoundingClientRect();
    const x = r.left + (doc.defaultView?.scrollX ?? 0);
    const y = r.top + (doc.defaultView?.scrollY ?? 0);
    ctx.strokeStyle = color;
    ctx.fillStyle = color + '33';
    ctx.fillRect(x, y, r.width, r.height);
    ctx.strokeRect(x, y, r.width, r.height);
    if (n > 0) {
      const label = fmtNum(n);
      ctx.fillStyle = color;
      ctx.fillRect(x, y - 18, ctx.measureText(label).width + 10, 18);
      ctx.fillStyle = '#fff';
      ctx.fillText(label, x + 5, y - 5);
    }
  }
}

function HeatStage({ snap, heat, layer, hover }: { snap: Snapshot; heat: HeatmapResult | null; layer: Layer; hover: string | null }) {
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [page, setPage] = useState<RebuiltPage | null>(null);
  const [err, setErr] = useState<Error | null>(null);
  const [stageRef, stageWidth] = useWidth<HTMLDivElement>();

  useEffect(() => {
    let cancelled = false;
    let built: RebuiltPage | null = null;
    setPage(null);
    import('../replay/player')
      .then(({ rebuildPage }) => rebuildPage(host.current!, snap.events, snap.offset))
      .then(
        (pg) => {
          built = pg;
          if (cancelled) pg.destroy();
          else setPage(pg);
        },
        (e) => !cancelled && setErr(e as Error),
      );
    return () => {
      cancelled = true;
      built?.destroy();
    };
  }, [snap]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !page || !heat) return;
    c.width = page.width;
    c.height = page.height;
    if (layer === 'clicks') drawClicks(c, heat.points, heat.grid || 10);
    else if (layer === 'scroll') drawScroll(c, heat.scroll);
    else {
      const key = layer === 'rage' ? 'rage_clicks' : 'dead_clicks';
      drawBoxes(c, page.doc, heat.elements.filter((e) => e[key] > 0).map((e) => ({ selector: e.selector, n: e[key] })), layer === 'rage' ? '#c92a2a' : '#e67700');
    }
    if (hover) drawBoxes(c, page.doc, [{ selector: hover, n: 0 }], '#3b5bdb', false);
  }, [page, heat, layer, hover]);

  const scale = page && stageWidth ? Math.min(1, stageWidth / page.width) : 1;
  return (
    <div ref={stageRef}>
      {err ? <ErrorState error={err} /> : null}
      <div class="heat-stage" data-testid="heat-stage">
        <div style={{ width: page ? `${page.width * scale}px` : '100%', height: page ? `${page.height * scale}px` : '300px', position: 'relative' }}>
          <div class="inner" style={{ transform: `scale(${scale})`, width: page ? `${page.width}px` : undefined }}>
            <div ref={host} />
            <canvas ref={canvas} data-testid="heat-canvas" aria-label="Heatmap layer" role="img" />
          </div>
        </div>
      </div>
    </div>
  );
}
