import { useState } from 'preact/hooks';
import { get } from '../lib/api';
import { useAsync, useInterval } from '../lib/hooks';
import { fmtDuration, fmtNum, fmtPct } from '../lib/format';
import { intervalFor, runQuery, type FrustrationResult, type TrendsQuery, type TrendsResult } from '../lib/query';
import { href, setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { TimeChart } from '../ui/chart';
import { CopyButton, DateRange } from '../ui/controls';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading, Progress, Stat } from '../ui/states';
import type { ProjectDetail } from './settings';
import { AnomalyPanel } from './anomaly-panel';

export function useRange(): { from: string; to: string; set: (from: string, to: string) => void } {
  const loc = useLocation();
  return {
    from: loc.query.get('from') || '-7d',
    to: loc.query.get('to') || 'today',
    set: (from, to) => setParams({ from: from === '-7d' ? null : from, to: to === 'today' ? null : to }),
  };
}

export function Overview() {
  useTitle('Overview');
  const p = useProject();
  const status = useAsync((s) => get<{ events: number }>(`/api/projects/${p.id}/status`, s), [p.id]);
  if (status.loading && !status.data) return <Loading />;
  if (status.error) return <ErrorState error={status.error} retry={status.reload} />;
  if (status.data && status.data.events === 0) return <Onboarding onLive={status.reload} />;
  return <Dashboard />;
}

function Onboarding({ onLive }: { onLive: () => void }) {
  const p = useProject();
  const proj = useAsync((s) => get<ProjectDetail>(`/api/projects/${p.id}`, s), [p.id]);
  const [events, setEvents] = useState(0);
  useInterval(async () => {
    try {
      const st = await get<{ events: number }>(`/api/projects/${p.id}/status`);
      setEvents(st.events);
    } catch {
      // Keep waiting; the next poll may succeed.
    }
  }, events > 0 ? null : 3000);
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Install Sightline on {p.name}</h1>
          <p>Add the snippet to your site; this page turns live when the first event arrives.</p>
        </div>
      </div>
      <div class="card stack">
        <h2>1. Paste the snippet into the &lt;head&gt; of every page</h2>
        {proj.loading && !proj.data ? <Loading /> : null}
        {proj.error ? <ErrorState error={proj.error} retry={proj.reload} /> : null}
        {proj.data ? (
          <>
            <div class="snippet">
              <pre data-testid="snippet">{proj.data.snippet}</pre>
              <CopyButton text={proj.data.snippet} label="Copy snippet" />
            </div>
            <p class="small muted">
              Project token <code>{proj.data.token}</code>. Clicks, pageviews, scrolls, forms and frustration signals are captured automatically; inputs are never
              recorded.
            </p>
          </>
        ) : null}
      </div>
      <div class="card stack" aria-live="polite">
        <h2>2. Open your site</h2>
        {events > 0 ? (
          <div class="row">
            <span class="pulse ok" aria-hidden="true" />
            <strong>Events are arriving: {fmtNum(events)} so far.</strong>
            <button type="button" class="primary" onClick={onLive}>
              Show the overview
            </button>
            <Link href={`/p/${p.id}/live`}>Watch live events</Link>
          </div>
        ) : (
          <div class="row">
            <span class="pulse" aria-hidden="true" />
            <span>Waiting for the first event…</span>
          </div>
        )}
      </div>
    </div>
  );
}

function totalOf(res: TrendsResult | undefined, i: number): number | undefined {
  const s = res?.series.find((x) => (x.series_index ?? -2) === i && !x.compare) ?? res?.series[i];
  if (!s) return undefined;
  return s.total ?? s.points.reduce((a, pt) => a + pt.v, 0);
}

function Dashboard() {
  const p = useProject();
  const r = useRange();
  const base = { date_from: r.from, date_to: r.to };
  const interval = intervalFor(r.from);
  const main = useAsync(
    (s) =>
      runQuery<TrendsResult>(
        p.id,
        {
          kind: 'trends',
          ...base,
          interval,
          series: [
            { event: '$pageview', math: 'persons', label: 'Visitors' },
            { event: '$pageview', math: 'sessions', label: 'Sessions' },
            { event: '$pageview', math: 'events', label: 'Pageviews' },
            { event: '$pageleave', math: 'sum', property: '$time_on_page_ms', label: 'Time on pages' },
          ],
        },
        s,
      ),
    [p.id, r.from, r.to],
  );
  const bounce = useAsync(
    (s) =>
      runQuery<TrendsResult>(
        p.id,
        {
          kind: 'trends',
          ...base,
          interval,
          filters: [{ type: 'session', prop: 'pageviews', op: 'eq', value: 1 }],
          series: [{ event: '$pageview', math: 'sessions', label: 'Bounced sessions' }],
        },
        s,
      ),
    [p.id, r.from, r.to],
  );
  const breakdown = (prop: string, math: string) =>
    ({ kind: 'trends', ...base, interval, series: [{ event: '$pageview', math }], breakdown: { prop, limit: 10 } }) as TrendsQuery;
  const pages = useAsync((s) => runQuery<TrendsResult>(p.id, breakdown('path', 'events'), s), [p.id, r.from, r.to]);
  const refs = useAsync((s) => runQuery<TrendsResult>(p.id, breakdown('referring_domain', 'sessions'), s), [p.id, r.from, r.to]);
  // Navigation inside the site has the site itself as referrer: leave the
  // site's own hosts out of the referrers.
  const hosts = useAsync((s) => runQuery<TrendsResult>(p.id, breakdown('host', 'events'), s), [p.id, r.from, r.to]);
  const ownHosts = new Set((hosts.data?.series ?? []).map((x) => x.breakdown_value ?? ''));
  const frus = useAsync((s) => runQuery<FrustrationResult>(p.id, { kind: 'frustration', ...base, interval, limit: 5 }, s), [p.id, r.from, r.to]);

  const sessions = totalOf(main.data, 1);
  const bounced = totalOf(bounce.data, 0);
  const timeMs = totalOf(main.data, 3);
  const mainSeries = main.data?.series.slice(0, 3) ?? [];
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Overview</h1>
          <p>{p.name}</p>
        </div>
        <DateRange from={r.from} to={r.to} onChange={r.set} />
      </div>
      <Progress active={main.loading && !!main.data} />
      {main.error ? <ErrorState error={main.error} retry={main.reload} /> : null}
      <div class="grid stats">
        <Stat label="Visitors" value={main.data ? fmtNum(totalOf(main.data, 0)) : '…'} />
        <Stat label="Sessions" value={main.data ? fmtNum(sessions) : '…'} />
        <Stat label="Pageviews" value={main.data ? fmtNum(totalOf(main.data, 2)) : '…'} />
        <Stat label="Bounce rate" value={bounce.data && sessions ? fmtPct((bounced ?? 0) / sessions) : bounce.error ? '–' : '…'} hint="sessions with one pageview" />
        <Stat label="Active time" value={main.data && sessions ? fmtDuration((timeMs ?? 0) / 1000 / sessions) : '…'} hint="per session, on pages" />
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Traffic</h2>
        </div>
        {main.loading && !main.data ? <Loading /> : null}
        {main.data ? (
          mainSeries.every((s) => s.points.every((pt) => pt.v === 0)) ? (
            <Empty title="No pageviews in this range.">Pick a longer range, or check that the snippet is installed.</Empty>
          ) : (
            <TimeChart
              times={(mainSeries[0]?.points ?? []).map((pt) => Date.parse(pt.t))}
              series={mainSeries.map((s) => ({ label: s.label, values: s.points.map((pt) => pt.v), total: s.total }))}
            />
          )
        ) : null}
      </div>
      <AnomalyPanel />
      <div class="grid cols-2">
        <Ranking title="Top pages" res={pages} unit="pageviews" link={(v) => href(`/p/${p.id}/heatmaps`, { url: v })} />
        <Ranking title="Top referrers" res={refs} unit="sessions" empty="(direct)" skip={ownHosts} />
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Frustration</h2>
          <Link href={href(`/p/${p.id}/frustration`, { from: r.from === '-7d' ? '' : r.from, to: r.to === 'today' ? '' : r.to })}>Details →</Link>
        </div>
        {frus.loading && !frus.data ? <Loading /> : null}
        {frus.error ? <ErrorState error={frus.error} retry={frus.reload} /> : null}
        {frus.data ? (
          <div class="stack">
            <div class="row">
              <span class="badge rage">{fmtNum(frus.data.totals.rage_clicks)} rage clicks</span>
              <span class="badge dead">{fmtNum(frus.data.totals.dead_clicks)} dead clicks</span>
              <span class="badge error">{fmtNum(frus.data.totals.error_clicks)} error clicks</span>
              <span class="muted">in {fmtPct(frus.data.affected_share)} of sessions</span>
            </div>
            {frus.data.pages.length > 0 ? (
              <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Most frustrating pages</th>
                    <th class="num">Rage</th>
                    <th class="num">Dead</th>
                    <th class="num">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {frus.data.pages.map((pg) => (
                    <tr key={pg.path}>
                      <td class="ellipsis">
                        <Link href={href(`/p/${p.id}/sessions`, { url: pg.path, min_frustration: 1 })}>{pg.path}</Link>
                      </td>
                      <td class="num">{fmtNum(pg.rage_clicks)}</td>
                      <td class="num">{fmtNum(pg.dead_clicks)}</td>
                      <td class="num">{fmtNum(pg.error_clicks)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
            ) : (
              <Empty title="No frustration signals in this range." />
            )}
          </div>
        ) : null}
      </div>
    </div>
  );
}

function Ranking({
  title,
  res,
  unit,
  link,
  empty = '(none)',
  skip,
}: {
  title: string;
  res: { data?: TrendsResult; error?: Error; loading: boolean; reload: () => void };
  unit: string;
  link?: (v: string) => string;
  empty?: string;
  skip?: Set<string>;
}) {
  const rows = (res.data?.series ?? [])
    .filter((s) => !s.compare || s.compare === 'current')
    .map((s) => ({ v: s.breakdown_value ?? s.label, label: s.breakdown_label ?? s.breakdown_value ?? s.label, n: s.total ?? s.points.reduce((a, pt) => a + pt.v, 0) }))
    .filter((x) => x.n > 0 && !skip?.has(x.v))
    // "Other" goes last whatever its size: it is many values, not one.
    .sort((a, b) => (a.v === '$other' ? 1 : 0) - (b.v === '$other' ? 1 : 0) || b.n - a.n);
  const max = Math.max(1, ...rows.map((x) => x.n));
  return (
    <div class="card">
      <h2>{title}</h2>
      {res.loading && !res.data ? <Loading /> : null}
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {res.data && rows.length === 0 ? <Empty title="Nothing yet in this range." /> : null}
      {rows.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>{title.replace('Top ', '')}</th>
              <th class="num">{unit}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((x) => {
              const name = x.v === '$none' || x.v === '$direct' || x.v === '' ? empty : x.v === '$other' ? 'Other' : x.label;
              return (
                <tr key={x.v}>
                  <td class="bar-cell">
                    <div class="bar" style={{ width: `${(x.n / max) * 100}%` }} />
                    <span class="ellipsis">{link && !x.v.startsWith('$') ? <Link href={link(x.v)}>{name}</Link> : name}</span>
                  </td>
                  <td class="num">{fmtNum(x.n)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
