// Types of the insight API (docs/insights.md) as the dashboard uses them,
// and the links from a finding to the pages that explain it.

import { post } from '../lib/api';
import { href } from '../lib/router';
import type { TrendsQuery } from '../lib/query';

export type Severity = 'high' | 'medium' | 'low';

/** What people made of an anomaly: dismissed ones leave the feed and the overview. */
export type FindingStatus = 'open' | 'acknowledged' | 'dismissed';

export interface StatusFields {
  status: FindingStatus;
  status_by?: string;
  status_at?: string;
}

/** Records what someone made of an anomaly (members only); answers the anomaly. */
export function setFindingStatus(pid: number, id: string, status: FindingStatus): Promise<Finding> {
  return post<Finding>(`${insightBase(pid)}/anomalies/${encodeURIComponent(id)}/status`, { status });
}

export interface Representative {
  session_id: string;
  distinct_id: string;
  start: string;
  duration_seconds: number;
}

export interface Condition {
  column: string;
  op: string;
  value: string;
}

export interface SessionFilter {
  from: string;
  to: string;
  conditions?: Condition[];
}

export interface ReleaseRef {
  annotation_id: number;
  version: string;
  at: string;
}

export interface Anomaly {
  key: string;
  label: string;
  direction: 'up' | 'down';
  start: string;
  detected_at: string;
  end?: string;
  observed: number;
  expected: number;
  peak_z: number;
  intervals: number;
  link?: Record<string, string>;
}

export interface ChartPoint {
  t: string;
  value: number;
  expected: number;
  exposure?: number;
}

export interface Finding extends StatusFields {
  id: string;
  severity: Severity;
  anomaly: Anomaly;
  release?: ReleaseRef;
  affected_sessions: number;
  chart: ChartPoint[] | null;
  replays: Representative[];
  segment: SessionFilter;
}

export interface Distinctive {
  feature: string;
  share: number;
  baseline: number;
  lift: number;
}

export interface TrendPoint {
  t: string;
  sessions: number;
  share: number;
}

export interface Cluster {
  id: number;
  description: string;
  size: number;
  share: number;
  distinctive: Distinctive[];
  median_duration_seconds: number;
  median_pages: number;
  frustrated_share: number;
  conversion?: number;
  conversion_lift?: number;
  trend: TrendPoint[] | null;
  trend_change: number;
  representatives: Representative[];
}

export interface ClusterResult {
  run_id?: number;
  from: string;
  to: string;
  sessions: number;
  k: number;
  silhouette: number;
  conversion?: string;
  baseline_conversion?: number;
  clusters: Cluster[];
  elapsed_ms: number;
  generated_at: string;
}

export interface ClusterRun {
  run_id: number;
  from: string;
  to: string;
  sessions: number;
  k: number;
  conversion?: string;
  generated_at: string;
}

export interface SessionSummary {
  session_id: string;
  distinct_id: string;
  start: string;
  duration_seconds: number;
  events: number;
  pageviews: number;
  rage_clicks: number;
  dead_clicks: number;
  error_clicks: number;
  device_type: string;
  has_replay: boolean;
}

export interface FeedItem extends StatusFields {
  id: string;
  severity: Severity;
  kind: 'anomaly' | 'cluster';
  title: string;
  detail: string;
  affected_sessions: number;
  chart: (ChartPoint | TrendPoint)[] | null;
  segment?: SessionFilter;
  replays: Representative[] | null;
  release?: ReleaseRef;
  at: string;
  anomaly?: Anomaly;
  cluster?: Cluster;
}

export interface Channel {
  type: 'webhook' | 'email';
  url?: string;
  to?: string[];
}

export interface Detect {
  threshold?: number;
  count_threshold?: number;
  min_z?: number;
  intervals?: number;
  min_count?: number;
  history_days?: number;
  min_history_days?: number;
}

export interface Rule {
  type: 'anomaly' | 'threshold' | 'change';
  metric: { series?: string; insight?: number; action?: number };
  op?: string;
  value?: number;
  period?: string;
  detect?: Detect;
  channels: Channel[];
  disabled?: boolean;
}

export interface AlertStateEntry {
  key: string;
  since: string;
  value: number;
}

export interface Alert {
  id: number;
  name: string;
  description: string;
  rule: Rule;
  state: { status: 'firing' | 'resolved' | 'idle' | 'disabled'; since?: string; evaluated_at?: string; firing: AlertStateEntry[] };
  created_at: string;
  updated_at: string;
}

export interface Delivery {
  id: number;
  channel: string;
  target: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_at?: string;
  last_error?: string;
  sent_at?: string;
}

export interface AlertEvent {
  id: number;
  rule_id: number;
  rule_name: string;
  key: string;
  kind: 'firing' | 'resolved' | 'test';
  at: string;
  message: string;
  value: number;
  release?: string;
  deliveries: Delivery[];
}

/** The API base of a project's insight routes. */
export const insightBase = (pid: number) => `/api/projects/${pid}`;

/** A short day string (local calendar day) for date-range URLs. */
export function isoDay(t: string | number | Date): string {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** How far observed is from expected, as a signed share ("+240%"). */
export function changeText(observed: number, expected: number): string {
  if (expected <= 0) return observed > 0 ? 'new' : '±0%';
  const r = observed / expected - 1;
  const pct = Math.abs(r) >= 10 ? Math.round(r * 100).toLocaleString() : (r * 100).toFixed(0);
  return (r >= 0 ? '+' : '') + pct + '%';
}

/** A series key or metric in words, for rules and findings. */
export function seriesLabel(key: string): string {
  if (key === '*') return 'Every monitored metric';
  if (key === 'sessions') return 'Sessions';
  if (key === 'error_rate') return 'Sessions with a JavaScript error';
  if (key.startsWith('event:')) return `Events: ${key.slice(6)}`;
  if (key.startsWith('frustration:page:')) return `Frustrated sessions on ${key.slice(17)}`;
  if (key.startsWith('frustration:element:')) {
    const [kind, path, ...target] = key.slice(20).split(':');
    return `${kind} clicks on ${target.join(':')} (${path})`;
  }
  return key;
}

export interface FindingLink {
  label: string;
  href: string;
}

const pathFilter = (path: string) =>
  path.endsWith('/*') ? { prop: 'path', op: 'regex', value: '^' + path.slice(0, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') } : { prop: 'path', op: 'eq', value: path };

/**
 * The pages that explain a finding: its metric as a trend (or the saved
 * insight or action it watches), the affected sessions, the page's heatmap.
 */
export function findingLinks(pid: number, a: Anomaly, segment?: SessionFilter): FindingLink[] {
  const link = a.link ?? {};
  const p = `/p/${pid}`;
  const from = isoDay(new Date(a.start).getTime() - 3 * 86400000);
  const trend = (q: TrendsQuery) => href(`${p}/insights/new`, { q: JSON.stringify(q), from });
  const out: FindingLink[] = [];
  if (link['insight']) out.push({ label: 'Saved insight', href: `${p}/insights/${link['insight']}` });
  else if (a.key.startsWith('action:')) out.push({ label: 'Action', href: `${p}/actions/${a.key.split(':')[1]}` });
  else if (link['event']) out.push({ label: 'Trend', href: trend({ kind: 'trends', interval: 'hour', display: 'line', series: [{ event: link['event'] }] }) });
  else if (a.key === 'sessions') out.push({ label: 'Trend', href: trend({ kind: 'trends', interval: 'hour', display: 'line', series: [{ event: '$pageview', math: 'sessions', label: 'Sessions' }] }) });
  else if (a.key === 'error_rate')
    out.push({
      label: 'Trend',
      href: trend({
        kind: 'trends',
        interval: 'hour',
        display: 'line',
        series: [
          { event: '$error', math: 'sessions', label: 'Sessions with an error' },
          { event: '$pageview', math: 'sessions', label: 'Sessions' },
        ],
      }),
    });
  else if (link['path']) {
    const where = [pathFilter(link['path'])];
    const signals = link['signal'] ? [link['signal']] : ['rage', 'dead', 'error'];
    out.push({
      label: 'Trend',
      href: trend({ kind: 'trends', interval: 'hour', display: 'line', series: signals.map((s) => ({ event: `$${s}click`, where })) }),
    });
  }
  if (segment) {
    const sessionParams: Record<string, string | number> = { from: isoDay(segment.from), to: isoDay(segment.to) };
    for (const c of segment.conditions ?? []) {
      if (c.column === 'path') sessionParams['url'] = c.op === 'prefix' ? c.value + '*' : c.value;
      if (c.column === 'frustration' || (c.column === 'event' && /^\$(rage|dead|error)click$/.test(c.value))) {
        sessionParams['min_frustration'] = 1;
        sessionParams['order'] = 'frustration';
      }
    }
    out.push({ label: 'Affected sessions', href: href(`${p}/sessions`, sessionParams) });
  }
  // A template (/product/*) is many pages: no one heatmap shows it.
  if (link['path'] && !link['path'].endsWith('/*')) {
    const layer = link['signal'] === 'dead' ? 'dead' : link['signal'] === 'error' ? '' : 'rage';
    out.push({ label: 'Heatmap', href: href(`${p}/heatmaps`, { url: link['path'], layer, from: '-30d' }) });
  }
  return out;
}

/** A cluster's distinctive fact in words: "rage click 'Apply coupon' on /cart". */
export function factText(feature: string): string {
  const i = feature.indexOf(':');
  const kind = feature.slice(0, i);
  const rest = feature.slice(i + 1);
  switch (kind) {
    case 'event':
      return `did ${rest}`;
    case 'page':
      return `visited ${rest}`;
    case 'entry':
      return `entered on ${rest}`;
    case 'exit':
      return `left from ${rest}`;
    case 'device':
      return `on ${rest}`;
    case 'shape':
      return rest === 'errors' ? 'hit a JavaScript error' : rest;
    case 'frustration': {
      const [signal, path, target] = rest.split('\u001f');
      return `${signal} click${target ? ' ' + target : ''} on ${path}`;
    }
  }
  return feature;
}
