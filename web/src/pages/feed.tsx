// The insight feed: anomalies, regressions and behavior patterns worth a
// look, anomalies first (the most severe first), each with its chart, the
// release it follows, links to the trend, the sessions and replays, and
// (for members) buttons to acknowledge or dismiss it.

import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../lib/api';
import { useAsync, useInterval } from '../lib/hooks';
import { fmtNum, fmtPct, fmtTime } from '../lib/format';
import { href, setParams, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { Link } from '../ui/link';
import { Sparkline, type SparkPoint } from '../ui/sparkline';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';
import { ObservedText, ReleaseBadge, SeverityBadge, StatusControls, ongoing } from './anomaly-panel';
import { changeText, findingLinks, insightBase, type ChartPoint, type FeedItem, type Finding, type TrendPoint } from './insight-api';

const sevRank = { high: 0, medium: 1, low: 2 };

export function FeedPage() {
  useTitle('Insight feed');
  const p = useProject();
  const session = useSession();
  const loc = useLocation();
  const days = Number(loc.query.get('days') ?? 7) || 7;
  const kind = loc.query.get('kind') ?? '';
  const sort = loc.query.get('sort') ?? 'ranked';
  const status = loc.query.get('status') ?? '';
  const focus = loc.query.get('focus') ?? '';
  const feed = useAsync(
    (s) => get<{ items: FeedItem[] }>(`${insightBase(p.id)}/feed?days=${days}&limit=100${status ? `&status=${status}` : ''}`, s),
    [p.id, days, status],
  );
  const [updated, setUpdated] = useState<Date | null>(null);
  const [checking, setChecking] = useState(false);
  useInterval(feed.reload, 60_000);
  useEffect(() => {
    if (feed.data) setUpdated(new Date());
  }, [feed.data]);

  // The default keeps the server's order: by sessions affected, open
  // findings before acknowledged ones.
  let items = (feed.data?.items ?? []).filter((it) => !kind || it.kind === kind);
  if (sort === 'newest') items = [...items].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  if (sort === 'severity') items = [...items].sort((a, b) => sevRank[a.severity] - sevRank[b.severity] || b.affected_sessions - a.affected_sessions);
  const focusMissing = !!focus && !!feed.data && !feed.data.items.some((it) => it.id === focus);

  useEffect(() => {
    if (!focus || !feed.data) return;
    document.querySelector(`[data-finding-id="${CSS.escape(focus)}"]`)?.scrollIntoView({ block: 'center' });
  }, [focus, feed.data]);

  const checkNow = async () => {
    setChecking(true);
    try {
      const res = await post<{ anomalies: Finding[] }>(`${insightBase(p.id)}/anomalies/run`);
      const open = res.anomalies.filter((f) => ongoing(f.anomaly)).length;
      session.toast(`Checked every metric: ${res.anomalies.length} anomal${res.anomalies.length === 1 ? 'y' : 'ies'} this week, ${open} open.`);
      feed.reload();
    } catch (e) {
      session.toast((e as Error).message);
    } finally {
      setChecking(false);
    }
  };

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Insight feed</h1>
          <p>Anomalies, regressions and behavior patterns worth a look: anomalies first, the most severe first.</p>
        </div>
        <div class="row">
          {updated ? <span class="small muted">Updated {updated.toLocaleTimeString()}</span> : null}
          {p.canEdit ? (
            <button type="button" onClick={checkNow} disabled={checking} title="Run anomaly detection on every metric now instead of at the next hour">
              {checking ? 'Checking…' : 'Check now'}
            </button>
          ) : null}
        </div>
      </div>
      <div class="card filters" role="group" aria-label="Feed filters">
        <label>
          Period
          <select value={String(days)} onChange={(e) => setParams({ days: Number((e.target as HTMLSelectElement).value) === 7 ? null : (e.target as HTMLSelectElement).value })}>
            <option value="1">Last 24 hours</option>
            <option value="7">Last 7 days</option>
            <option value="14">Last 14 days</option>
            <option value="30">Last 30 days</option>
          </select>
        </label>
        <label>
          Show
          <select value={kind} onChange={(e) => setParams({ kind: (e.target as HTMLSelectElement).value })}>
            <option value="">Everything</option>
            <option value="anomaly">Anomalies</option>
            <option value="cluster">Behavior patterns</option>
          </select>
        </label>
        <label>
          Status
          <select name="feed-status" value={status} onChange={(e) => setParams({ status: (e.target as HTMLSelectElement).value || null })}>
            <option value="">Open and acknowledged</option>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="dismissed">Dismissed</option>
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setParams({ sort: (e.target as HTMLSelectElement).value === 'ranked' ? null : (e.target as HTMLSelectElement).value })}>
            <option value="ranked">Sessions affected</option>
            <option value="newest">Newest</option>
            <option value="severity">Severity</option>
          </select>
        </label>
      </div>
      <Progress active={feed.loading && !!feed.data} />
      {feed.loading && !feed.data ? <Loading label="Loading findings…" /> : null}
      {feed.error ? <ErrorState error={feed.error} retry={feed.reload} /> : null}
      {focusMissing ? (
        <div class="state small" role="note">
          The finding you followed is not in this period's feed any more. <Link href={href(`/p/${p.id}/feed`, { days: 30 })}>Look at the last 30 days</Link>.
        </div>
      ) : null}
      {feed.data && items.length === 0 ? (
        <div class="card">
          <Empty title={kind || status ? 'Nothing of this kind in this period.' : 'Nothing needs a look.'}>
            Sightline checks sessions, events, errors, frustration per page and element, and every saved insight each hour; anomalies and frustrated behavior
            patterns appear here as they are found. <Link href={`/p/${p.id}/clusters`}>Explore behavior clusters</Link> or{' '}
            <Link href={`/p/${p.id}/alerts`}>set up an alert</Link>.
          </Empty>
        </div>
      ) : null}
      {items.map((it) => (
        <FeedCard key={it.id + it.at} item={it} focused={it.id === focus} onStatus={feed.reload} />
      ))}
    </div>
  );
}

function anomalyPoints(chart: ChartPoint[]): SparkPoint[] {
  return chart.map((c) => ({ t: Date.parse(c.t), v: c.value, e: c.expected >= 0 ? c.expected : undefined }));
}

function FeedCard({ item, focused, onStatus }: { item: FeedItem; focused: boolean; onStatus: () => void }) {
  const p = useProject();
  const a = item.anomaly;
  const c = item.cluster;
  const chart = item.chart ?? [];
  let points: SparkPoint[] = [];
  let highlight: [number, number] | undefined;
  if (a) {
    points = anomalyPoints(chart as ChartPoint[]);
    const last = points[points.length - 1]?.t ?? Date.parse(a.start);
    highlight = [Date.parse(a.start), a.end ? Date.parse(a.end) : last + 3600_000];
  } else {
    points = (chart as TrendPoint[]).map((t) => ({ t: Date.parse(t.t), v: t.share * 100 }));
  }
  const links = a ? findingLinks(p.id, a, item.segment) : [];
  const replays = item.replays ?? [];
  return (
    <article
      class={'card finding' + (focused ? ' focus' : '') + (item.status === 'dismissed' ? ' dismissed' : '')}
      data-testid="finding"
      data-finding-id={item.id}
      data-kind={item.kind}
      data-status={item.status}
      aria-label={item.title}
    >
      <div class="stack" style={{ gap: '0.3rem', minWidth: 0 }}>
        <div class="row small">
          <SeverityBadge severity={item.severity} />
          <span class="badge">{a ? (a.direction === 'down' ? 'Drop' : 'Spike') : 'Behavior pattern'}</span>
          {a ? ongoing(a) ? <span class="badge firing">Ongoing</span> : <span class="badge resolved">Ended {fmtTime(a.end!)}</span> : null}
          {item.release ? <ReleaseBadge release={item.release} start={a?.start} /> : null}
          <span class="muted">{a ? 'detected' : 'found'} {fmtTime(item.at)}</span>
          {a ? <StatusControls finding={item} label={item.title} onChange={onStatus} /> : null}
        </div>
        <h3>{item.title}</h3>
        {a ? (
          <>
            <div class="small">
              <ObservedText a={a} /> since {fmtTime(a.start)}
              {a.end ? `, until ${fmtTime(a.end)}` : ''}
            </div>
            <dl class="figures">
              <div>
                <dt>Metric</dt>
                <dd class="mono" style={{ fontWeight: 500 }}>
                  {a.key}
                </dd>
              </div>
              <div>
                <dt>Change</dt>
                <dd class={a.direction === 'up' ? 'up' : 'down'}>{changeText(a.observed, a.expected)}</dd>
              </div>
              <div>
                <dt>Peak z</dt>
                <dd>{a.peak_z.toFixed(1)}</dd>
              </div>
              <div>
                <dt>Sessions affected</dt>
                <dd>{fmtNum(Math.round(item.affected_sessions))}</dd>
              </div>
              <div>
                <dt>{ongoing(a) ? 'Lasting' : 'Lasted'}</dt>
                <dd>
                  {a.intervals} hour{a.intervals === 1 ? '' : 's'}
                </dd>
              </div>
            </dl>
          </>
        ) : c ? (
          <>
            <p class="small muted" style={{ margin: 0 }}>
              {item.detail}
            </p>
            <dl class="figures">
              <div>
                <dt>Sessions</dt>
                <dd>{fmtNum(c.size)}</dd>
              </div>
              <div>
                <dt>Share</dt>
                <dd>{fmtPct(c.share)}</dd>
              </div>
              <div>
                <dt>Frustrated</dt>
                <dd>{fmtPct(c.frustrated_share, 0)}</dd>
              </div>
              {c.conversion !== undefined ? (
                <div title={c.conversion_lift !== undefined ? `${c.conversion_lift.toFixed(2)} times the conversion of all sessions` : undefined}>
                  <dt>Conversion</dt>
                  <dd class={c.conversion_lift !== undefined && c.conversion_lift < 0.8 ? 'down' : ''}>{fmtPct(c.conversion)}</dd>
                </div>
              ) : null}
            </dl>
          </>
        ) : null}
        <div class="links">
          {links.map((l) => (
            <Link key={l.label} href={l.href}>
              {l.label} →
            </Link>
          ))}
          {c ? <Link href={href(`/p/${p.id}/clusters`, { cluster: c.id })}>Behavior cluster →</Link> : null}
          {replays.map((r, i) => (
            <Link key={r.session_id} href={`/p/${p.id}/replay/${encodeURIComponent(r.session_id)}`} title={`Session of ${r.distinct_id}, ${fmtTime(r.start)}`}>
              ▶ Replay {i + 1}
            </Link>
          ))}
        </div>
      </div>
      <div class="side-chart">
        <Sparkline points={points} highlight={highlight} label={a ? `${a.label}: observed against expected` : 'Share of sessions per day'} height={64} />
        {points.length > 1 ? (
          <div class="small muted">
            {a ? (
              <>
                <i class="key" aria-hidden="true" />
                observed <i class="key expected" aria-hidden="true" />
                expected
              </>
            ) : (
              'share of sessions per day'
            )}
          </div>
        ) : null}
      </div>
    </article>
  );
}
