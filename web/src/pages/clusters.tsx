// Behavior clusters: the sessions of a period grouped into a few patterns,
// each described in plain words with its size, conversion, frustration and
// trend, the sessions nearest its centre to replay, and all its sessions.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, isAbort, post } from '../lib/api';
import { useAsync } from '../lib/hooks';
import { fmtDate, fmtDuration, fmtNum, fmtPct, fmtTime } from '../lib/format';
import { href, navigate, setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { palette } from '../ui/chart';
import { commonEvents, Suggest } from '../ui/controls';
import { Link } from '../ui/link';
import { Sparkline } from '../ui/sparkline';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';
import { FrustrationBadges } from './sessions';
import { factText, insightBase, isoDay, type Cluster, type ClusterResult, type ClusterRun, type Condition, type SessionSummary } from './insight-api';

const columns: [string, string][] = [
  ['path', 'Visited page'],
  ['event', 'Did event'],
  ['device_type', 'Device'],
  ['browser', 'Browser'],
  ['os', 'OS'],
  ['utm_source', 'UTM source'],
  ['utm_campaign', 'UTM campaign'],
  ['referring_domain', 'Referring domain'],
  ['frustration', 'Frustration'],
];

interface RunForm {
  days: string;
  from: string;
  to: string;
  conversion: string;
  column: string;
  op: string;
  value: string;
}

function periodOf(f: RunForm): { from: string; to: string } {
  if (f.days === 'custom') {
    // Whole local days, the end day included.
    const to = new Date(f.to + 'T00:00:00');
    to.setDate(to.getDate() + 1);
    return { from: new Date(f.from + 'T00:00:00').toISOString(), to: to.toISOString() };
  }
  const now = Date.now();
  return { from: new Date(now - Number(f.days) * 86400000).toISOString(), to: new Date(now).toISOString() };
}

const runLabel = (r: ClusterRun) => `${fmtDate(r.from)} – ${fmtDate(new Date(Date.parse(r.to) - 1))} · ${fmtNum(r.sessions)} sessions · ${r.k} patterns (${fmtTime(r.generated_at)})`;

export function ClustersPage() {
  useTitle('Behavior clusters');
  const p = useProject();
  const loc = useLocation();
  const runParam = Number(loc.query.get('run') ?? 0);
  const focus = loc.query.get('cluster');
  const runs = useAsync((s) => get<{ runs: ClusterRun[] }>(`${insightBase(p.id)}/clusters/runs`, s), [p.id, runParam]);
  const res = useAsync(
    (s) =>
      get<ClusterResult>(`${insightBase(p.id)}/clusters/${runParam || 'latest'}`, s).catch((e) => {
        if (!runParam && e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [p.id, runParam],
  );
  const today = isoDay(Date.now());
  const [form, setForm] = useState<RunForm>({ days: '7', from: isoDay(Date.now() - 6 * 86400000), to: today, conversion: '', column: '', op: 'eq', value: '' });
  const [running, setRunning] = useState(false);
  const [runError, setRunError] = useState<Error | undefined>();
  const d = res.data;

  useEffect(() => {
    if (d && d.conversion && !form.conversion) setForm((f) => ({ ...f, conversion: d.conversion ?? '' }));
  }, [d]);
  useEffect(() => {
    if (focus === null || !d) return;
    document.querySelector(`[data-cluster-id="${CSS.escape(focus)}"]`)?.scrollIntoView({ block: 'start' });
  }, [focus, d]);

  const run = async (e: Event) => {
    e.preventDefault();
    setRunning(true);
    setRunError(undefined);
    const conditions: Condition[] = form.column && form.value ? [{ column: form.column, op: form.column === 'frustration' ? 'eq' : form.op, value: form.value.trim() }] : [];
    try {
      const out = await post<ClusterResult>(`${insightBase(p.id)}/clusters`, { ...periodOf(form), conversion: form.conversion.trim() || undefined, conditions });
      if (out.run_id) navigate(href(`/p/${p.id}/clusters`, { run: out.run_id }));
      else res.reload();
    } catch (err) {
      if (!isAbort(err)) setRunError(err as Error);
    } finally {
      setRunning(false);
    }
  };
  const set = (k: keyof RunForm) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Behavior clusters</h1>
          <p>Sessions grouped into a few patterns of behavior, each described in plain words, with sessions to watch.</p>
        </div>
        {runs.data && runs.data.runs.length > 0 ? (
          <label class="inline run-pick">
            <span class="small muted">Clustering</span>
            <select aria-label="Stored clustering" value={String(d?.run_id ?? '')} onChange={(e) => setParams({ run: (e.target as HTMLSelectElement).value, cluster: null }, false)}>
              {d?.run_id && !runs.data.runs.some((r) => r.run_id === d.run_id) ? <option value={d.run_id}>Run {d.run_id}</option> : null}
              {runs.data.runs.map((r) => (
                <option key={r.run_id} value={r.run_id}>
                  {runLabel(r)}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      <form class="card filters" aria-label="Find patterns" onSubmit={run}>
        <label>
          Sessions of
          <select value={form.days} onChange={set('days')}>
            <option value="1">the last 24 hours</option>
            <option value="7">the last 7 days</option>
            <option value="14">the last 14 days</option>
            <option value="30">the last 30 days</option>
            <option value="custom">dates…</option>
          </select>
        </label>
        {form.days === 'custom' ? (
          <>
            <label>
              From
              <input type="date" value={form.from} max={today} onInput={set('from')} required />
            </label>
            <label>
              To
              <input type="date" value={form.to} min={form.from} onInput={set('to')} required />
            </label>
          </>
        ) : null}
        <label>
          Only sessions that…
          <select value={form.column} onChange={set('column')} aria-label="Filter sessions by">
            <option value="">(all sessions)</option>
            {columns.map(([c, l]) => (
              <option key={c} value={c}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {form.column === 'frustration' ? (
          <label>
            Kind
            <select value={form.value} onChange={set('value')}>
              <option value="">choose…</option>
              <option value="any">any frustrated click</option>
              <option value="rage">rage click</option>
              <option value="dead">dead click</option>
              <option value="error">error click</option>
            </select>
          </label>
        ) : form.column ? (
          <>
            <label>
              Match
              <select value={form.op} onChange={set('op')}>
                <option value="eq">is</option>
                <option value="neq">is not</option>
                <option value="contains">contains</option>
                <option value="prefix">starts with</option>
              </select>
            </label>
            <label>
              Value
              <input value={form.value} onInput={set('value')} placeholder={form.column === 'path' ? '/cart' : form.column === 'device_type' ? 'mobile' : ''} />
            </label>
          </>
        ) : null}
        <label>
          Conversion event
          <Suggest id="conv" label="Conversion event" value={form.conversion} options={commonEvents} placeholder="purchase (optional)" onInput={(v) => setForm({ ...form, conversion: v })} />
        </label>
        <button type="submit" class="primary" disabled={running}>
          {running ? 'Finding patterns…' : 'Find patterns'}
        </button>
      </form>
      {running ? <Loading label="Clustering sessions: large periods take a few seconds…" /> : null}
      {runError ? <ErrorState error={runError} /> : null}
      <Progress active={res.loading && !!d} />
      {res.loading && !d && !running ? <Loading label="Loading the latest clustering…" /> : null}
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {res.data === null && !running ? (
        <div class="card">
          <Empty title="No clustering yet.">Sightline clusters the last 7 days once a day; pick a period above and find the patterns now.</Empty>
        </div>
      ) : null}
      {d ? <RunView d={d} focus={focus} /> : null}
    </div>
  );
}

function RunView({ d, focus }: { d: ClusterResult; focus: string | null }) {
  if (d.sessions === 0)
    return (
      <div class="card">
        <Empty title="No sessions in this period.">Pick a longer period, or remove the filter.</Empty>
      </div>
    );
  return (
    <>
      <div class="card" data-testid="cluster-summary">
        <dl class="kv">
          <div>
            <dt>Period</dt>
            <dd>
              {fmtDate(d.from)} – {fmtDate(new Date(Date.parse(d.to) - 1))}
            </dd>
          </div>
          <div>
            <dt>Sessions</dt>
            <dd>{fmtNum(d.sessions)}</dd>
          </div>
          <div>
            <dt>Patterns</dt>
            <dd>{d.k}</dd>
          </div>
          <div title="Silhouette: how well the patterns separate, from −1 to 1">
            <dt>Separation</dt>
            <dd>{d.silhouette.toFixed(2)}</dd>
          </div>
          {d.baseline_conversion !== undefined ? (
            <div>
              <dt>Conversion ({d.conversion})</dt>
              <dd>{fmtPct(d.baseline_conversion)}</dd>
            </div>
          ) : null}
          <div>
            <dt>Computed</dt>
            <dd>
              {fmtTime(d.generated_at)} <span class="muted small">in {fmtDuration(d.elapsed_ms / 1000)}</span>
            </dd>
          </div>
        </dl>
      </div>
      <div class="cluster-grid">
        {d.clusters.map((c, i) => (
          <ClusterCard key={c.id} c={c} color={palette[i % palette.length]!} run={d} focused={focus === String(c.id)} />
        ))}
      </div>
    </>
  );
}

function ClusterCard({ c, color, run, focused }: { c: Cluster; color: string; run: ClusterResult; focused: boolean }) {
  const p = useProject();
  const trend = (c.trend ?? []).map((t) => ({ t: Date.parse(t.t), v: t.share * 100 }));
  const lift = c.conversion_lift;
  return (
    <section class={'card cluster-card' + (focused ? ' focus' : '')} data-testid="cluster" data-cluster-id={c.id} aria-labelledby={`cluster-${c.id}`}>
      <div class="row small">
        <span>
          <span class="swatch" style={{ background: color }} aria-hidden="true" />
          Pattern {c.id + 1}
        </span>
        <span class="badge">{fmtPct(c.share)} of sessions</span>
        {c.frustrated_share >= 0.3 ? <span class="badge sev-high">{fmtPct(c.frustrated_share, 0)} frustrated</span> : null}
        {Math.abs(c.trend_change) >= 0.2 ? (
          <span class={'badge ' + (c.trend_change > 0 ? 'accent' : '')} title="Change of its share of sessions from the first third of the period to the last">
            {c.trend_change > 0 ? '↑' : '↓'} {fmtPct(Math.abs(c.trend_change), 0)}
          </span>
        ) : null}
      </div>
      <h3 id={`cluster-${c.id}`} data-testid="cluster-description">
        {c.description}
      </h3>
      <div class="share-bar" aria-hidden="true">
        <div style={{ width: `${Math.max(1, c.share * 100)}%`, background: color }} />
      </div>
      <dl class="kv">
        <div>
          <dt>Sessions</dt>
          <dd>{fmtNum(c.size)}</dd>
        </div>
        <div>
          <dt>Median length</dt>
          <dd>{fmtDuration(c.median_duration_seconds)}</dd>
        </div>
        <div>
          <dt>Median pages</dt>
          <dd>{fmtNum(c.median_pages)}</dd>
        </div>
        <div>
          <dt>Frustrated</dt>
          <dd class={c.frustrated_share >= 0.3 ? 'up' : ''}>{fmtPct(c.frustrated_share, 0)}</dd>
        </div>
        {c.conversion !== undefined ? (
          <div title={lift !== undefined ? `${lift.toFixed(2)} times the conversion of all sessions` : undefined}>
            <dt>Conversion</dt>
            <dd class={lift !== undefined && lift < 0.8 ? 'down' : lift !== undefined && lift > 1.25 ? 'good' : ''}>
              {fmtPct(c.conversion)}
              {run.baseline_conversion !== undefined ? <span class="muted small" style={{ fontWeight: 'normal' }}> vs {fmtPct(run.baseline_conversion)} overall</span> : null}
            </dd>
          </div>
        ) : null}
      </dl>
      {c.distinctive.length > 0 ? (
        <div class="chips" aria-label="What sets it apart">
          {c.distinctive.slice(0, 6).map((f) => (
            <span key={f.feature} class="chip" title={`${fmtPct(f.share, 0)} of this pattern against ${fmtPct(f.baseline, 0)} of all sessions`}>
              <b>{fmtPct(f.share, 0)}</b> {factText(f.feature)} <span class="muted">vs {fmtPct(f.baseline, 0)}</span>
            </span>
          ))}
        </div>
      ) : null}
      {trend.length > 1 ? (
        <div>
          <Sparkline points={trend} label={`Share of sessions per day in pattern ${c.id + 1}`} height={40} />
          <div class="small muted">share of sessions per day</div>
        </div>
      ) : null}
      <div>
        <h4 class="small muted" style={{ margin: '0 0 0.3rem' }}>
          Sessions nearest its centre
        </h4>
        <ul class="reps">
          {c.representatives.map((r) => (
            <li key={r.session_id}>
              <Link href={`/p/${p.id}/replay/${encodeURIComponent(r.session_id)}`} data-testid="representative" data-session={r.session_id}>
                ▶ {fmtTime(r.start)}
                <span class="muted small">
                  {fmtDuration(r.duration_seconds)} · <span class="mono">{r.distinct_id.length > 18 ? r.distinct_id.slice(0, 17) + '…' : r.distinct_id}</span>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </div>
      {run.run_id ? (
        <Link class="button small" style={{ alignSelf: 'flex-start' }} href={`/p/${p.id}/clusters/${run.run_id}/${c.id}`}>
          All {fmtNum(c.size)} sessions →
        </Link>
      ) : null}
    </section>
  );
}

interface SessionsPage {
  total: number;
  offset: number;
  sessions: SessionSummary[];
}

export function ClusterSessionsPage({ run, cluster }: { run: number; cluster: number }) {
  useTitle('Sessions of a cluster');
  const p = useProject();
  const res = useAsync((s) => get<ClusterResult>(`${insightBase(p.id)}/clusters/${run}`, s), [p.id, run]);
  const [rows, setRows] = useState<SessionSummary[]>([]);
  const [total, setTotal] = useState<number | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | undefined>();
  const c = res.data?.clusters.find((x) => x.id === cluster);

  const load = async (offset: number, signal?: AbortSignal) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await get<SessionsPage>(`${insightBase(p.id)}/clusters/${run}/${cluster}/sessions?offset=${offset}&limit=50`, signal);
      setRows((prev) => (offset ? [...prev, ...page.sessions] : page.sessions));
      setTotal(page.total);
    } catch (e) {
      if (!isAbort(e)) setError(e as Error);
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  };
  useEffect(() => {
    const ctl = new AbortController();
    load(0, ctl.signal);
    return () => ctl.abort();
  }, [p.id, run, cluster]);

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Pattern {cluster + 1}: sessions</h1>
          <p>
            <Link href={href(`/p/${p.id}/clusters`, { run, cluster })}>← Behavior clusters</Link>
            {c ? <> · {c.description}</> : null}
          </p>
        </div>
      </div>
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {res.error instanceof ApiError && res.error.status === 404 ? null : (
        <div class="card table-wrap">
          <Progress active={loading && rows.length > 0} />
          {error ? <ErrorState error={error} retry={() => load(0)} /> : null}
          {loading && rows.length === 0 ? <Loading /> : null}
          {!loading && !error && rows.length === 0 ? <Empty title="No sessions in this pattern." /> : null}
          {rows.length > 0 ? (
            <>
              <p class="small muted" style={{ marginTop: 0 }}>
                {fmtNum(total)} sessions, nearest the pattern's centre (the most typical) first.
              </p>
              <table>
                <thead>
                  <tr>
                    <th>Started</th>
                    <th>Person</th>
                    <th class="num">Duration</th>
                    <th class="num">Pages</th>
                    <th class="num">Events</th>
                    <th>Device</th>
                    <th>Signals</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {rows.map((s) => {
                    const to = `/p/${p.id}/replay/${encodeURIComponent(s.session_id)}`;
                    return (
                      <tr key={s.session_id} class="clickable" onClick={(e) => !(e.target as HTMLElement).closest('a') && navigate(to)}>
                        <td class="nowrap">{s.start && !s.start.startsWith('0001') ? fmtTime(s.start) : '–'}</td>
                        <td class="ellipsis mono" style={{ maxWidth: '12rem' }}>
                          {s.distinct_id}
                        </td>
                        <td class="num">{fmtDuration(s.duration_seconds)}</td>
                        <td class="num">{fmtNum(s.pageviews)}</td>
                        <td class="num">{fmtNum(s.events)}</td>
                        <td class="small">{s.device_type}</td>
                        <td>
                          <FrustrationBadges s={s} />
                        </td>
                        <td class="right">
                          <Link class="button small" href={to}>
                            {s.has_replay ? '▶ Replay' : 'Events'}
                          </Link>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          ) : null}
          {total !== undefined && rows.length < total ? (
            <div class="row" style={{ justifyContent: 'center', marginTop: '0.75rem' }}>
              <button type="button" disabled={loading} onClick={() => load(rows.length)}>
                {loading ? 'Loading…' : 'Load more'}
              </button>
            </div>
          ) : null}
        </div>
      )}
    </div>
  );
}
