import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { useAsync, useWidth } from '../lib/hooks';
import { fmtNum, fmtPct, pathOf } from '../lib/format';
import { runQuery, type HeatLayer, type HeatmapResult, type SessionsResult, type TrendsResult } from '../lib/query';
import { href, navigate, setParams, useLocation } from '../lib/router';
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

type Layer = HeatLayer | 'scroll';

const layers: [Layer, string][] = [
  ['clicks', 'Clicks'],
  ['rage', 'Rage clicks'],
  ['dead', 'Dead clicks'],
  ['error', 'Error clicks'],
  ['scroll', 'Scroll depth'],
];

type ElementCount = 'clicks' | 'rage_clicks' | 'dead_clicks' | 'error_clicks';
type HeatElement = HeatmapResult['elements'][number];

/** Which per-element count a layer ranks. */
const layerCount: Record<Layer, ElementCount> = { clicks: 'clicks', scroll: 'clicks', rage: 'rage_clicks', dead: 'dead_clicks', error: 'error_clicks' };

/** The positions a layer draws: the heatmap query's points of that layer (scroll draws none). */
export function pointLayer(layer: Layer): HeatLayer {
  return layer === 'scroll' ? 'clicks' : layer;
}

const frustrationNoun: Record<string, string> = { rage: 'rage', dead: 'dead', error: 'error' };

/** What a layer counts in all: the numbers of the heatmap query, so the legend agrees with the API. */
export function layerTotal(heat: HeatmapResult, layer: Layer): number {
  if (layer === 'clicks') return heat.clicks;
  if (layer === 'scroll') return heat.scroll_measured;
  const key = layerCount[layer];
  return heat.elements.reduce((n, e) => n + e[key], 0);
}

/** What the stage managed to draw: the hottest spot, and the events placed outside the rebuilt page. */
export interface Drawn {
  max: number;
  missing: number;
}

/** The link that starts an action for an element of a page. */
export function actionHref(pid: number, selector: string, url: string): string {
  return href(`/p/${pid}/actions/new`, { selector, url: url.startsWith('/') ? url : pathOf(url) });
}

export function HeatmapPage() {
  useTitle('Heatmaps');
  const p = useProject();
  const loc = useLocation();
  const r = useRange();
  const url = loc.query.get('url') ?? '';
  const viewport = loc.query.get('viewport') ?? 'desktop';
  const layer = (layers.some(([l]) => l === loc.query.get('layer')) ? loc.query.get('layer') : 'clicks') as Layer;
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

  // Every element with a rage, dead or error click must be in the answer
  // for those layers to add up, not only the 30 most clicked: ask for the
  // engine's maximum. The points are the layer's own: where those clicks
  // happened.
  const points = pointLayer(layer);
  const heat = useAsync(
    (s) =>
      url ? runQuery<HeatmapResult>(p.id, { kind: 'heatmap', date_from: r.from, date_to: r.to, url, viewport, grid: 10, limit: 500, layer: points }, s) : Promise.resolve(null),
    [p.id, url, viewport, r.from, r.to, points],
  );
  const snap = useAsync((s) => (url ? findPageSnapshot(p.id, url, viewport, r.from, r.to, s) : Promise.resolve(null)), [p.id, url, viewport, r.from, r.to]);
  const [hover, setHover] = useState<string | null>(null);
  const [picking, setPicking] = useState(false);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
  const key = layerCount[layer];
  const ranked: HeatElement[] = heat.data
    ? layer in frustrationNoun
      ? heat.data.elements.filter((e) => e[key] > 0).sort((a, b) => b[key] - a[key] || a.selector.localeCompare(b.selector))
      : heat.data.elements
    : [];
  const noun = layer in frustrationNoun ? `${frustrationNoun[layer]} clicks` : 'clicks';

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Heatmaps</h1>
          <p>Where people click, rage-click and click in vain, and how far they scroll, drawn over the page as it was recorded.</p>
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
          {layers.map(([l, label]) => (
            <label key={l} class="inline">
              <input type="radio" name="layer" value={l} checked={layer === l} onChange={() => setParams({ layer: l === 'clicks' ? null : l })} />
              {label}
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
            {heat.data ? <HeatLegend heat={heat.data} layer={layer} drawn={snap.data ? drawn : null} /> : null}
            {snap.loading && !snap.data ? <Loading label="Rebuilding the page from a recording…" /> : null}
            {!snap.loading && !snap.error && !snap.data ? (
              <Empty title="No recording of this page yet.">
                The page itself is rebuilt from a session replay: turn replays on in settings and visit the page.
                {heat.data && heat.data.clicks > 0 ? ' Meanwhile the clicks are drawn on a blank page of the same size.' : ''}
              </Empty>
            ) : null}
            {!snap.loading && !snap.error && !snap.data && heat.data && heat.data.points.length > 0 ? <BlankStage heat={heat.data} layer={layer} /> : null}
            {snap.data && p.canEdit ? (
              <div class="row">
                <button type="button" class="small" aria-pressed={picking} onClick={() => setPicking(!picking)}>
                  {picking ? 'Stop picking' : 'Pick an element…'}
                </button>
                <span class="small muted">{picking ? 'Click an element of the page to define an action for it: it counts past clicks at once.' : 'Name an element as an action.'}</span>
              </div>
            ) : null}
            {snap.data ? (
              <HeatStage
                snap={snap.data}
                heat={heat.data ?? null}
                layer={layer}
                hover={hover}
                onDrawn={setDrawn}
                onPick={picking ? (selector) => navigate(actionHref(p.id, selector, url)) : undefined}
              />
            ) : null}
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
                {ranked.length === 0 ? (
                  <Empty title={`No ${noun} on this page in this range.`} />
                ) : (
                  <table data-testid="heat-elements">
                    <thead>
                      <tr>
                        <th>Element</th>
                        <th class="num">Clicks</th>
                        <th class="num">Rage</th>
                        <th class="num">Dead</th>
                        <th class="num">Error</th>
                      </tr>
                    </thead>
                    <tbody>
                      {ranked.slice(0, 30).map((el) => (
                        <tr
                          key={el.selector}
                          data-selector={el.selector}
                          tabIndex={0}
                          onMouseEnter={() => setHover(el.selector)}
                          onMouseLeave={() => setHover(null)}
                          onFocus={() => setHover(el.selector)}
                          onBlur={() => setHover(null)}
                        >
                          <td class="small">
                            <div class="mono" style={{ overflowWrap: 'anywhere' }}>
                              {el.selector}
                            </div>
                            {p.canEdit ? (
                              <Link href={actionHref(p.id, el.selector, url)} aria-label={`Create an action for ${el.selector}`}>
                                Create action
                              </Link>
                            ) : null}
                          </td>
                          <td class="num">{fmtNum(el.clicks)}</td>
                          <td class="num">{el.rage_clicks ? <span class="badge rage">{el.rage_clicks}</span> : 0}</td>
                          <td class="num">{el.dead_clicks ? <span class="badge dead">{el.dead_clicks}</span> : 0}</td>
                          <td class="num">{el.error_clicks ? <span class="badge error">{el.error_clicks}</span> : 0}</td>
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

/** The layer's colour scale and what it adds up to. */
function HeatLegend({ heat, layer, drawn }: { heat: HeatmapResult; layer: Layer; drawn: Drawn | null }) {
  const total = layerTotal(heat, layer);
  let summary: string;
  if (layer === 'scroll') summary = `${fmtNum(total)} page views with a measured scroll depth`;
  else if (layer === 'clicks') summary = `${fmtNum(total)} ${total === 1 ? 'click' : 'clicks'}`;
  else {
    const n = heat.elements.filter((e) => e[layerCount[layer]] > 0).length;
    summary = `${fmtNum(total)} ${frustrationNoun[layer]} ${total === 1 ? 'click' : 'clicks'} on ${fmtNum(n)} ${n === 1 ? 'element' : 'elements'}`;
  }
  return (
    <div class="heat-legend" data-testid="heat-legend" data-layer={layer} data-total={total} role="group" aria-label="Heatmap legend">
      <span class="grow">
        <strong>{summary}</strong>
        {drawn && drawn.missing > 0 ? <span class="small muted"> · {fmtNum(drawn.missing)} outside this recording of the page</span> : null}
      </span>
      {total > 0 ? (
        <span class="scale small">
          <span>{layer === 'scroll' ? 'none reached' : 'fewest'}</span>
          <span class="bar" aria-hidden="true" />
          <span>{layer === 'scroll' ? 'all reached' : drawn && drawn.max > 0 ? `${fmtNum(drawn.max)} at the hottest spot` : 'most'}</span>
        </span>
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

/** A spot of heat: count events around (x, y) in page pixels. */
export interface HeatSpot {
  x: number;
  y: number;
  count: number;
  radius: number;
}

/**
 * Draws density: each spot adds a radial blob whose strength is its share
 * of the hottest spot, then the accumulated intensity is coloured from cold
 * to hot. Every layer of positions (the cells of clicks, rage, dead or
 * error clicks) is drawn this way. Returns the hottest spot's count.
 */
export function drawHeat(canvas: HTMLCanvasElement, spots: HeatSpot[]): number {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return 0;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (spots.length === 0) return 0;
  const max = Math.max(...spots.map((p) => p.count));
  for (const pt of spots) {
    const g = ctx.createRadialGradient(pt.x, pt.y, 0, pt.x, pt.y, pt.radius);
    g.addColorStop(0, `rgba(0,0,0,${Math.min(1, 0.15 + (0.85 * pt.count) / max)})`);
    g.addColorStop(1, 'rgba(0,0,0,0)');
    ctx.fillStyle = g;
    ctx.fillRect(pt.x - pt.radius, pt.y - pt.radius, pt.radius * 2, pt.radius * 2);
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
  return max;
}

/** Spots of a layer: the grid cells of the heatmap query, at their centres. */
export function clickSpots(points: HeatmapResult['points'], grid: number): HeatSpot[] {
  const radius = Math.max(14, grid * 1.6);
  return points.map((p) => ({ x: p.x + grid / 2, y: p.y + grid / 2, count: p.count, radius }));
}

/**
 * Draws a layer's points when heat is the answer for that layer (while
 * another layer's answer is still on screen, nothing is drawn). Returns the
 * hottest spot and the events of cells outside the page (it changed since).
 */
function drawPoints(c: HTMLCanvasElement, heat: HeatmapResult, layer: Layer): Drawn {
  // data-layer tells which answer the canvas shows (tests wait for it).
  if ((heat.layer ?? 'clicks') !== pointLayer(layer)) {
    c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
    c.dataset['layer'] = '';
    return { max: 0, missing: 0 };
  }
  const grid = heat.grid || 10;
  const inside = heat.points.filter((p) => p.x < c.width && p.y < c.height);
  const missing = heat.points.reduce((n, p) => n + p.count, 0) - inside.reduce((n, p) => n + p.count, 0);
  const max = drawHeat(c, clickSpots(inside, grid));
  c.dataset['layer'] = heat.layer ?? 'clicks';
  return { max, missing };
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

/** Outlines an element of the rebuilt page on the overlay canvas. */
function outline(ctx: CanvasRenderingContext2D, doc: Document, el: Element | null): void {
  if (!el) return;
  const r = el.getBoundingClientRect();
  const x = r.left + (doc.defaultView?.scrollX ?? 0);
  const y = r.top + (doc.defaultView?.scrollY ?? 0);
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#3b5bdb';
  ctx.fillStyle = '#3b5bdb22';
  ctx.fillRect(x, y, r.width, r.height);
  ctx.strokeRect(x, y, r.width, r.height);
}

/**
 * Heat without the page, for pages nobody recorded (or projects that keep
 * replays off): click positions are page coordinates, so the heat keeps its
 * shape on a blank page as wide as the device class.
 */
function BlankStage({ heat, layer }: { heat: HeatmapResult; layer: Layer }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [ref, stageWidth] = useWidth<HTMLDivElement>();
  const grid = heat.grid || 10;
  const width = Math.max(heat.viewport === 'mobile' ? 390 : heat.viewport === 'tablet' ? 820 : 1280, ...heat.points.map((p) => p.x + grid));
  const height = Math.min(20000, Math.max(600, ...heat.points.map((p) => p.y + grid + 40)));
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    c.width = width;
    c.height = height;
    if (layer === 'scroll') drawScroll(c, heat.scroll);
    else drawPoints(c, heat, layer);
  }, [heat, layer, width, height]);
  const scale = stageWidth ? Math.min(1, stageWidth / width) : 1;
  return (
    <div ref={ref} class="stack">
      <div class="heat-stage blank" data-testid="heat-blank">
        <div style={{ width: `${width * scale}px`, height: `${height * scale}px`, position: 'relative' }}>
          <div class="inner" style={{ transform: `scale(${scale})`, width: `${width}px`, height: `${height}px` }}>
            <canvas ref={canvas} data-testid="heat-canvas" aria-label="Heatmap layer on a blank page" role="img" />
          </div>
        </div>
      </div>
    </div>
  );
}

type PlayerModule = typeof import('../replay/player');

/**
 * A recorded page rebuilt at full height, with a heat layer over it and an
 * overlay for outlines; with onPick, clicking an element of the page picks
 * it (by the selector the SDK records for clicks on it).
 */
export function HeatStage({
  snap,
  heat,
  layer,
  hover,
  onDrawn,
  onPick,
}: {
  snap: Snapshot;
  heat: HeatmapResult | null;
  layer: Layer;
  hover: string | null;
  onDrawn?: (d: Drawn) => void;
  onPick?: (selector: string, el: Element) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const mod = useRef<PlayerModule | null>(null);
  const [page, setPage] = useState<RebuiltPage | null>(null);
  const [err, setErr] = useState<Error | null>(null);
  const [picked, setPicked] = useState<{ el: Element; selector: string } | null>(null);
  const [stageRef, stageWidth] = useWidth<HTMLDivElement>();

  useEffect(() => {
    let cancelled = false;
    let built: RebuiltPage | null = null;
    setPage(null);
    import('../replay/player')
      .then((m) => {
        mod.current = m;
        return m.rebuildPage(host.current!, snap.events, snap.offset);
      })
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
    if (!c || !page) return;
    c.width = page.width;
    c.height = page.height;
    if (!heat) {
      c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
      return;
    }
    let d: Drawn = { max: 0, missing: 0 };
    if (layer === 'scroll') {
      drawScroll(c, heat.scroll);
      c.dataset['layer'] = 'scroll';
    } else d = drawPoints(c, heat, layer);
    onDrawn?.(d);
  }, [page, heat, layer]);

  useEffect(() => {
    if (!onPick) setPicked(null);
  }, [!onPick]);

  useEffect(() => {
    const c = overlay.current;
    if (!c || !page) return;
    c.width = page.width;
    c.height = page.height;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, c.width, c.height);
    if (hover) {
      let el: Element | null = null;
      try {
        el = page.doc.querySelector(hover);
      } catch {
        el = null;
      }
      outline(ctx, page.doc, el);
    }
    if (picked) outline(ctx, page.doc, picked.el);
  }, [page, hover, picked]);

  const scale = page && stageWidth ? Math.min(1, stageWidth / page.width) : 1;
  const target = (e: MouseEvent): { el: Element; selector: string } | null => {
    const c = overlay.current;
    const m = mod.current;
    if (!c || !page || !m) return null;
    const r = c.getBoundingClientRect();
    const hit = page.doc.elementFromPoint((e.clientX - r.left) / scale, (e.clientY - r.top) / scale);
    if (!hit || hit === page.doc.body || hit === page.doc.documentElement) return null;
    const el = m.clickTarget(hit);
    return { el, selector: m.selectorFor(el) };
  };
  return (
    <div ref={stageRef} class="stack">
      {err ? <ErrorState error={err} /> : null}
      {onPick ? (
        <div class="small" aria-live="polite" data-testid="pick-hint">
          {picked ? <code>{picked.selector}</code> : 'Point at an element of the page.'}
        </div>
      ) : null}
      <div class={'heat-stage' + (onPick ? ' picking' : '')} data-testid="heat-stage">
        <div style={{ width: page ? `${page.width * scale}px` : '100%', height: page ? `${page.height * scale}px` : '300px', position: 'relative' }}>
          <div class="inner" style={{ transform: `scale(${scale})`, width: page ? `${page.width}px` : undefined }}>
            <div ref={host} />
            <canvas ref={canvas} data-testid="heat-canvas" aria-label="Heatmap layer" role="img" />
            <canvas
              ref={overlay}
              class="overlay"
              data-testid="pick-canvas"
              aria-hidden="true"
              onMouseMove={onPick ? (e) => setPicked(target(e)) : undefined}
              onMouseLeave={onPick ? () => setPicked(null) : undefined}
              onClick={
                onPick
                  ? (e) => {
                      const t = target(e);
                      if (t) onPick(t.selector, t.el);
                    }
                  : undefined
              }
            />
          </div>
        </div>
      </div>
    </div>
  );
}
