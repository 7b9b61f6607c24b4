// Renders the result of an insight query: shared by the insight builder and
// dashboard cards.

import { useEffect, useMemo, useRef } from 'preact/hooks';
import { useAsync } from '../lib/hooks';
import { fmtDuration, fmtNum, fmtPct, fmtDate, fmtTime } from '../lib/format';
import {
  runQuery,
  type FunnelActorsResult,
  type FunnelQuery,
  type FunnelResult,
  type InsightQuery,
  type PathsResult,
  type RetentionResult,
  type TrendsQuery,
  type TrendsResult,
} from '../lib/query';
import { setParams, useLocation } from '../lib/router';
import { useProject } from '../lib/session';
import { get } from '../lib/api';
import { TimeChart, type ChartMarker } from '../ui/chart';
import { Sankey } from '../ui/sankey';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';

export function InsightResult({ query, compact = false, refresh = 0 }: { query: InsightQuery; compact?: boolean; refresh?: number }) {
  const p = useProject();
  const key = JSON.stringify(query);
  // The previous result stays on screen while a changed query runs, but
  // only when it has the same kind: its shape depends on the kind.
  const res = useAsync(async (s) => ({ kind: query.kind, data: await runQuery<unknown>(p.id, query, s) }), [p.id, key, refresh]);
  const data = res.data && res.data.kind === query.kind ? res.data.data : undefined;
  return (
    <div class="stack" aria-busy={res.loading}>
      <Progress active={res.loading && !!data} />
      {res.loading && !data ? <Loading label="Running the query…" /> : null}
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {data && !res.error ? <ResultView query={query} data={data} compact={compact} /> : null}
    </div>
  );
}

function ResultView({ query, data, compact }: { query: InsightQuery; data: unknown; compact: boolean }) {
  switch (query.kind) {
    case 'trends':
      return <TrendsView query={query} res={data as TrendsResult} compact={compact} />;
    case 'funnel':
      return <FunnelView query={query} res={data as FunnelResult} compact={compact} />;
    case 'retention':
      return <RetentionView res={data as RetentionResult} />;
    case 'paths':
      return <PathsView res={data as PathsResult} compact={compact} />;
  }
}

interface Release {
  id: number;
  version: string;
  at: string;
}

const intervalMs: Record<string, number> = { hour: 3600_000, day: 86400_000, week: 7 * 86400_000, month: 31 * 86400_000 };

// One request per project and range however many charts of a dashboard
// show it; kept a minute.
const releaseCache = new Map<string, { at: number; list: Promise<Release[]> }>();

function releasesBetween(pid: number, from: number, to: number): Promise<Release[]> {
  const key = `${pid}:${from}:${to}`;
  const hit = releaseCache.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.list;
  const qs = `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
  const list = get<{ releases: Release[] }>(`/api/projects/${pid}/releases?${qs}`).then((r) => r.releases);
  // A failed request is not kept: the next chart asks again.
  list.catch(() => releaseCache.delete(key));
  releaseCache.set(key, { at: Date.now(), list });
  return list;
}

/** The releases shipped between the first point of a chart and the end of its last interval, as markers. */
function useReleaseMarkers(times: number[], interval: string | undefined): ChartMarker[] {
  const p = useProject();
  const from = times[0] ?? 0;
  const to = (times[times.length - 1] ?? 0) + (intervalMs[interval ?? 'day'] ?? 86400_000);
  const res = useAsync(() => (times.length ? releasesBetween(p.id, from, to) : Promise.resolve([])), [p.id, from, to]);
  return useMemo(() => (res.data ?? []).map((r) => ({ t: Date.parse(r.at), label: `Release ${r.version}`, version: r.version })), [res.data]);
}

function TrendsView({ query, res, compact }: { query: TrendsQuery; res: TrendsResult; compact: boolean }) {
  const current = res.series.filter((s) => s.compare !== 'previous');
  const times = useMemo(() => (current[0]?.points ?? []).map((pt) => Date.parse(pt.t)), [res]);
  const markers = useReleaseMarkers(times, query.interval);
  if (res.series.length === 0 || res.series.every((s) => s.points.every((pt) => pt.v === 0))) {
    return <Empty title="No matching events in this range." />;
  }
  const series = res.series.map((s) => {
    let label = s.breakdown_value !== undefined ? `${s.label} · ${s.breakdown_label ?? s.breakdown_value}` : s.label;
    if (s.compare === 'previous') label += ' (previous period)';
    // Unique persons or sessions do not add up over days: the engine's total does.
    return { label, values: s.points.map((pt) => pt.v), dashed: s.compare === 'previous', total: s.total };
  });
  return (
    <div class="stack">
      <TimeChart times={times} series={series} kind={query.display ?? 'line'} height={compact ? 200 : 280} markers={markers} />
      {compact ? null : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Series</th>
                <th class="num">Total</th>
              </tr>
            </thead>
            <tbody>
              {res.series.map((s, i) => (
                <tr key={i}>
                  <td>{series[i]!.label}</td>
                  <td class="num">{fmtNum(s.total ?? s.points.reduce((a, pt) => a + pt.v, 0))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

type Drill = { step: number; status: 'converted' | 'dropped' };

/** The step and list the drill-down shows, from the URL (drill=2&drill_status=dropped), so it can be shared. */
function useDrill(steps: number): [Drill | null, (d: Drill | null) => void] {
  const loc = useLocation();
  const step = Number(loc.query.get('drill'));
  const status = loc.query.get('drill_status') === 'dropped' ? 'dropped' : 'converted';
  const drill = Number.isInteger(step) && step >= 1 && step <= steps && !(status === 'dropped' && step === 1) ? { step, status: status as Drill['status'] } : null;
  const set = (d: Drill | null) => setParams({ drill: d?.step ?? null, drill_status: d?.status ?? null, drill_offset: null });
  return [drill, set];
}

function FunnelView({ query, res, compact }: { query: FunnelQuery; res: FunnelResult; compact: boolean }) {
  const steps = res.steps;
  const [drill, setDrill] = useDrill(compact ? 0 : steps.length);
  if (steps.length === 0 || steps[0]!.count === 0) return <Empty title="Nobody entered this funnel in this range." />;
  const first = steps[0]!.count;
  const unit = query.count_by === 'session' ? 'sessions' : 'persons';
  // The engine labels a step by its event; the page it was narrowed to is
  // what tells "$pageview" steps apart.
  const label = (i: number, fallback: string) => {
    const st = query.steps[i];
    if (!st || st.label) return st?.label || fallback;
    const page = st.where?.find((f) => f.prop === 'path' || f.prop === 'url');
    const v = typeof page?.value === 'string' ? page.value.replace(/^\^|\$$/g, '').replace(/\.\*/g, '*').replace(/\\(.)/g, '$1') : '';
    return v ? `${fallback} ${v}` : fallback;
  };
  const open = (d: Drill) => setDrill(drill && drill.step === d.step && drill.status === d.status ? null : d);
  return (
    <div class="stack">
      <div class="funnel" role="group" aria-label="Funnel steps">
        {steps.map((s, i) => {
          const prev = i === 0 ? s.count : steps[i - 1]!.count;
          const fill = first ? (s.count / first) * 100 : 0;
          const drop = first ? ((prev - s.count) / first) * 100 : 0;
          const dropped = s.drop_off ?? prev - s.count;
          return (
            <div class="step" key={i} data-step={i + 1} data-count={s.count}>
              <button
                type="button"
                class="col"
                aria-pressed={drill?.step === i + 1}
                aria-label={`Step ${i + 1}, ${label(i, s.label)}: ${s.count} ${unit}, ${fmtPct(s.conversion)} of the first step. Show who ${i > 0 ? 'dropped off before it' : 'entered'}.`}
                disabled={compact}
                onClick={() => open({ step: i + 1, status: i > 0 && dropped > 0 ? 'dropped' : 'converted' })}
              >
                {i > 0 ? <div class="drop" style={{ height: `${drop}%` }} /> : null}
                <div class="fill" style={{ height: `${fill}%` }} />
              </button>
              <div class="label">
                {i + 1}. {label(i, s.label)}
              </div>
              <div>
                {compact ? (
                  <strong class="step-count">{fmtNum(s.count)}</strong>
                ) : (
                  <button
                    type="button"
                    class="link step-count"
                    data-testid="step-converted"
                    aria-pressed={drill?.step === i + 1 && drill.status === 'converted'}
                    aria-label={`List the ${fmtNum(s.count)} ${unit} who reached step ${i + 1}`}
                    onClick={() => open({ step: i + 1, status: 'converted' })}
                  >
                    <strong>{fmtNum(s.count)}</strong>
                  </button>
                )}{' '}
                <span class="muted">{unit}</span>
              </div>
              <div class="small">
                <span class="step-conversion">{fmtPct(s.conversion)}</span> of first
                {i > 0 ? <span class="muted"> · {fmtPct(s.conversion_from_previous ?? (prev ? s.count / prev : 0))} of previous</span> : null}
              </div>
              {i > 0 ? (
                <div class="small muted">
                  {compact ? (
                    <>−{fmtNum(dropped)} dropped</>
                  ) : (
                    <button
                      type="button"
                      class="link"
                      data-testid="step-dropped"
                      aria-pressed={drill?.step === i + 1 && drill.status === 'dropped'}
                      aria-label={`List the ${fmtNum(dropped)} ${unit} who dropped off before step ${i + 1}`}
                      onClick={() => open({ step: i + 1, status: 'dropped' })}
                    >
                      −{fmtNum(dropped)} dropped
                    </button>
                  )}
                  {s.median_seconds ? ` · median ${fmtDuration(s.median_seconds)}` : ''}
                </div>
              ) : null}
            </div>
          );
        })}
      </div>
      {compact ? null : <p class="small muted">Click a step's count, or its bar, to list who reached it or dropped off before it, with their replays.</p>}
      {drill ? (
        <FunnelActors
          query={query}
          drill={drill}
          steps={steps.map((s, i) => label(i, s.label))}
          counts={{ converted: steps[drill.step - 1]!.count, dropped: drill.step > 1 ? (steps[drill.step - 1]!.drop_off ?? steps[drill.step - 2]!.count - steps[drill.step - 1]!.count) : 0 }}
          set={setDrill}
        />
      ) : null}
    </div>
  );
}

const actorsPage = 25;

/**
 * The persons (or sessions) of one funnel step, converted or dropped, a
 * page at a time from the engine's funnel_actors query, each with the
 * session of the step they reached and a link to its replay.
 */
function FunnelActors({
  query,
  drill,
  steps,
  counts,
  set,
}: {
  query: FunnelQuery;
  drill: Drill;
  steps: string[];
  counts: { converted: number; dropped: number };
  set: (d: Drill | null) => void;
}) {
  const p = useProject();
  const loc = useLocation();
  const offset = Math.max(0, Math.floor(Number(loc.query.get('drill_offset')) || 0));
  const head = useRef<HTMLHeadingElement>(null);
  const key = JSON.stringify(query);
  const res = useAsync(
    (s) => runQuery<FunnelActorsResult>(p.id, { ...query, kind: 'funnel_actors', step: drill.step, status: drill.status, offset, limit: actorsPage }, s),
    [p.id, key, drill.step, drill.status, offset],
  );
  useEffect(() => head.current?.focus(), [drill.step, drill.status]);
  const data = res.data && res.data.step === drill.step && res.data.status === drill.status && res.data.offset === offset ? res.data : undefined;
  const bySession = query.count_by === 'session';
  const what = (status: Drill['status']) => (status === 'converted' ? `Reached step ${drill.step}` : `Dropped off before step ${drill.step}`);
  const page = (o: number) => setParams({ drill_offset: o || null });
  return (
    <section class="card stack" data-testid="funnel-actors" data-step={drill.step} data-status={drill.status} data-total={data?.total ?? ''} aria-busy={res.loading}>
      <div class="card-head">
        <h3 ref={head} tabIndex={-1}>
          {drill.step}. {steps[drill.step - 1]}
        </h3>
        <button type="button" class="small" aria-label="Close the list" onClick={() => set(null)}>
          ✕
        </button>
      </div>
      <div class="tabs" role="tablist" aria-label="Who">
        {(['converted', 'dropped'] as const)
          .filter((st) => st === 'converted' || drill.step > 1)
          .map((st) => (
            <button key={st} type="button" role="tab" aria-selected={drill.status === st} onClick={() => drill.status !== st && set({ step: drill.step, status: st })}>
              {what(st)} · {fmtNum(counts[st])}
            </button>
          ))}
      </div>
      <Progress active={res.loading && !!res.data} />
      {res.loading && !res.data ? <Loading label="Listing them…" /> : null}
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {data && data.actors.length === 0 ? <Empty title={offset > 0 ? 'No one on this page.' : 'No one to show.'} /> : null}
      {data && data.actors.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{bySession ? 'Session' : 'Person'}</th>
                <th>At step {drill.status === 'converted' ? drill.step : drill.step - 1}</th>
                <th class="num">Furthest step</th>
                <th>Replay</th>
              </tr>
            </thead>
            <tbody>
              {data.actors.map((a) => (
                <tr key={(a.person_id ?? '') + '/' + (a.session_id ?? '')} data-person={a.person_id ?? ''} data-session={a.session_id ?? ''}>
                  <td class="mono ellipsis">{bySession ? a.session_id : a.person_id}</td>
                  <td class="nowrap">{fmtTime(a.timestamp)}</td>
                  <td class="num">
                    {a.furthest_step} of {steps.length}
                  </td>
                  <td>
                    {a.session_id ? (
                      <Link
                        class={a.has_replay ? 'button small' : 'small'}
                        href={`/p/${p.id}/replay/${encodeURIComponent(a.session_id)}`}
                        title={a.has_replay ? undefined : 'This session has no recording: its events are listed instead.'}
                      >
                        {a.has_replay ? '▶ Watch replay' : 'Session events'}
                      </Link>
                    ) : (
                      <span class="muted small">no session</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {data && data.total > 0 ? (
        <div class="row" data-testid="actors-pager">
          <button type="button" class="small" disabled={offset === 0 || res.loading} onClick={() => page(Math.max(0, offset - actorsPage))}>
            ← Previous
          </button>
          <span class="small muted" data-testid="actors-range">
            {fmtNum(Math.min(data.total, offset + 1))}–{fmtNum(Math.min(data.total, offset + data.actors.length))} of {fmtNum(data.total)} {bySession ? 'sessions' : 'persons'}
          </span>
          <button type="button" class="small" disabled={data.next_offset === undefined || res.loading} onClick={() => page(data.next_offset ?? offset)}>
            Next →
          </button>
        </div>
      ) : null}
    </section>
  );
}

function RetentionView({ res }: { res: RetentionResult }) {
  if (res.cohorts.length === 0) return <Empty title="No cohorts in this range." />;
  const cols = Array.from({ length: res.periods }, (_, i) => i);
  return (
    <div class="table-wrap">
      <table class="retention">
        <thead>
          <tr>
            <th>Cohort</th>
            <th class="num">Persons</th>
            {cols.map((c) => (
              <th key={c} class="num">
                {res.period} {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {res.cohorts.map((c) => (
            <tr key={c.date}>
              <td class="nowrap">{fmtDate(c.date)}</td>
              <td class="num">{fmtNum(c.size)}</td>
              {cols.map((k) => {
                const v = c.values.find((x) => x.period === k);
                if (!v) return <td key={k} class="cell" />;
                return (
                  <td key={k} class="cell" style={{ background: `rgba(59, 91, 219, ${0.08 + v.share * 0.8})`, color: v.share > 0.5 ? '#fff' : undefined }} title={`${v.count} persons`}>
                    {fmtPct(v.share, 0)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PathsView({ res, compact }: { res: PathsResult; compact: boolean }) {
  if (res.edges.length === 0) return <Empty title="No journeys in this range." />;
  const flows = res.edges.map((e) => ({ source: `${e.step}:${e.source}`, target: `${e.step + 1}:${e.target}`, value: e.count }));
  return (
    <div class="stack">
      <Sankey flows={flows} height={compact ? 260 : 480} />
      {compact ? null : <p class="small muted">{fmtNum(res.sessions)} sessions. Hover a band for its count.</p>}
    </div>
  );
}
