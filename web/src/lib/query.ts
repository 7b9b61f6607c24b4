// Types of the analytics engine's query API (POST /api/query, see
// docs/api.md) as far as the dashboard uses them.

import { api } from './api';

export interface Filter {
  type?: 'event' | 'person' | 'session' | 'element' | 'segment';
  prop?: string;
  op: string;
  value?: unknown;
}

/** A step of an action definition (see the action editor). */
export interface ActionStep {
  event?: string;
  selector?: string;
  text?: string;
  text_match?: string;
  href?: string;
  href_match?: string;
  url?: string;
  url_match?: string;
  where?: Filter[];
}

export interface ActionDef {
  steps: ActionStep[];
}

export interface EventRef {
  event?: string;
  action?: number;
  /** An action defined inline, not saved (the action editor's preview). */
  action_def?: ActionDef;
  where?: Filter[];
}

export interface Series extends EventRef {
  math?: string;
  property?: string;
  label?: string;
}

export interface Breakdown {
  type?: 'event' | 'person' | 'segment';
  prop?: string;
  segments?: number[];
  limit?: number;
}

export interface Common {
  kind: string;
  date_from?: string;
  date_to?: string;
  timezone?: string;
  filters?: Filter[];
  exclude_internal?: boolean;
}

export interface TrendsQuery extends Common {
  kind: 'trends';
  interval?: string;
  series: Series[];
  breakdown?: Breakdown;
  compare?: boolean;
  formula?: string;
  /** Display only: line or bar. The engine ignores it. */
  display?: 'line' | 'bar';
}

export interface FunnelStep extends EventRef {
  label?: string;
}

export interface FunnelQuery extends Common {
  kind: 'funnel';
  steps: FunnelStep[];
  window_seconds?: number;
  count_by?: 'person' | 'session';
  order?: 'ordered' | 'strict' | 'unordered';
  breakdown?: Breakdown;
  samples?: number;
}

/** The persons (or sessions) of one funnel step, a page at a time. */
export interface FunnelActorsQuery extends Omit<FunnelQuery, 'kind'> {
  kind: 'funnel_actors';
  step: number;
  status: 'converted' | 'dropped';
  breakdown_value?: string;
  offset?: number;
  limit?: number;
}

export interface RetentionQuery extends Common {
  kind: 'retention';
  start: EventRef;
  return?: EventRef;
  start_type?: 'first_time' | 'recurring';
  period?: 'day' | 'week' | 'month';
  periods?: number;
}

export interface PathsQuery extends Common {
  kind: 'paths';
  path_type?: 'pageview' | 'event';
  start_point?: string;
  end_point?: string;
  depth?: number;
  edge_limit?: number;
  exclude?: string[];
}

export interface SessionsQuery extends Common {
  kind: 'sessions';
  visited_url?: string;
  performed?: EventRef;
  min_frustration?: number;
  min_duration?: number;
  max_duration?: number;
  device_type?: string;
  has_replay?: boolean;
  order_by?: string;
  ascending?: boolean;
  limit?: number;
  cursor?: string;
}

export type HeatLayer = 'clicks' | 'rage' | 'dead' | 'error';

export interface HeatmapQuery extends Common {
  kind: 'heatmap';
  url: string;
  viewport?: string;
  grid?: number;
  limit?: number;
  /** Whose positions the points are: clicks (default), rage, dead or error clicks. */
  layer?: HeatLayer;
}

export interface FrustrationQuery extends Common {
  kind: 'frustration';
  interval?: string;
  limit?: number;
}

export type InsightQuery = TrendsQuery | FunnelQuery | RetentionQuery | PathsQuery;
export type AnyQuery = InsightQuery | FunnelActorsQuery | SessionsQuery | HeatmapQuery | FrustrationQuery;

export interface Point {
  t: string;
  v: number;
}

export interface TrendSeries {
  label: string;
  series_index?: number;
  math?: string;
  breakdown_value?: string;
  breakdown_label?: string;
  compare?: string;
  total?: number;
  points: Point[];
}

export interface TrendsResult {
  series: TrendSeries[];
  interval?: string;
}

export interface FunnelEntity {
  person_id?: string;
  session_id?: string;
}

export interface FunnelStepResult {
  step?: number;
  label: string;
  count: number;
  conversion: number;
  conversion_from_previous?: number;
  drop_off?: number;
  median_seconds?: number;
  p90_seconds?: number;
  converted?: FunnelEntity[];
  dropped?: FunnelEntity[];
}

export interface FunnelResult {
  steps: FunnelStepResult[];
}

export interface FunnelActor {
  person_id?: string;
  session_id?: string;
  timestamp: string;
  furthest_step: number;
  has_replay: boolean;
}

export interface FunnelActorsResult {
  step: number;
  label: string;
  status: 'converted' | 'dropped';
  count_by: 'person' | 'session';
  total: number;
  offset: number;
  limit: number;
  next_offset?: number;
  actors: FunnelActor[];
}

export interface RetentionResult {
  period: string;
  periods: number;
  cohorts: { date: string; size: number; values: { period: number; count: number; share: number }[] }[];
}

export interface PathsResult {
  nodes: { step: number; name: string; count: number; drop_off: number }[];
  edges: { step: number; source: string; target: string; count: number }[];
  sessions: number;
}

export interface SessionRow {
  session_id: string;
  person_id: string;
  distinct_id: string;
  start: string;
  end: string;
  duration_seconds: number;
  active_seconds: number;
  pages: number;
  events: number;
  entry_url: string;
  exit_url: string;
  clicks: number;
  rage_clicks: number;
  dead_clicks: number;
  error_clicks: number;
  device_type: string;
  browser: string;
  os: string;
  has_replay: boolean;
}

export interface SessionsResult {
  sessions: SessionRow[];
  next_cursor?: string;
}

export interface HeatmapResult {
  url: string;
  viewport: string;
  grid: number;
  layer: HeatLayer;
  clicks: number;
  points: { x: number; y: number; count: number }[];
  elements: { selector: string; clicks: number; rage_clicks: number; dead_clicks: number; error_clicks: number }[];
  scroll: { percent: number; share: number; count: number }[];
  pageviews: number;
  scroll_measured: number;
}

export interface FrustrationCounts {
  rage_clicks: number;
  dead_clicks: number;
  error_clicks: number;
  sessions: number;
}

export interface FrustrationResult {
  totals: FrustrationCounts;
  trend: (FrustrationCounts & { t: string })[];
  pages: (FrustrationCounts & { path: string })[];
  elements: (FrustrationCounts & { selector: string; path?: string; text?: string })[];
  sessions: number;
  affected_share: number;
}

export function runQuery<R>(projectID: number, q: AnyQuery, signal?: AbortSignal): Promise<R> {
  const body: Record<string, unknown> = { ...q };
  delete body['display'];
  return api<R>('POST', `/api/query?project_id=${projectID}`, body, signal);
}

/** An interval that gives a readable number of points for a date range. */
export function intervalFor(from: string): string {
  const m = /^-(\d+)([hdwmy])$/.exec(from);
  if (m) {
    const n = Number(m[1]);
    const unit = m[2];
    if (unit === 'h' || (unit === 'd' && n <= 2)) return 'hour';
    if (unit === 'd' && n <= 90) return 'day';
    if (unit === 'w' && n <= 12) return 'day';
    if (unit === 'm' && n <= 3) return 'day';
    return 'week';
  }
  const d = Date.parse(from);
  if (!Number.isNaN(d)) {
    const days = (Date.now() - d) / 86400000;
    if (days <= 2) return 'hour';
    if (days <= 90) return 'day';
    return 'week';
  }
  return 'day';
}
