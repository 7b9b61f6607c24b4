// Renders the result of an insight query: shared by the insight builder and
// dashboard cards.

import { useState } from 'preact/hooks';
import { useAsync } from '../lib/hooks';
import { fmtDuration, fmtNum, fmtPct, fmtDate } from '../lib/format';
import {
  runQuery,
  type FunnelQuery,
  type FunnelResult,
  type InsightQuery,
  type PathsResult,
  type RetentionResult,
  type TrendsQuery,
  type TrendsResult,
} from '../lib/query';
import { useProject } from '../lib/session';
import { TimeChart } from '../ui/chart';
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

function TrendsView({ query, res, compact }: { query: TrendsQuery; res: TrendsResult; compact: boolean }) {
  if (res.series.length === 0 || res.series.every((s) => s.points.every((pt) => pt.v === 0))) {
    return <Empty title="No matching events in this range." />;
  }
  const current = res.series.filter((s) => s.compare !== 'previous');
  const times = (current[0]?.points ?? []).map((pt) => Date.parse(pt.t));
  const series = res.series.map((s) => {
    let label = s.breakdown_value !== undefined ? `${s.label} · ${s.breakdown_label ?? s.breakdown_value}` : s.label;
    if (s.compare === 'previous') label += ' (previous period)';
    // Unique persons or sessions do not add up over days: the engine's total does.
    return { label, values: s.points.map((pt) => pt.v), dashed: s.compare === 'previous', total: s.total };
  });
  return (
    <div class="stack">
      <TimeChart times={times} series={series} kind={query.display ?? 'line'} height={compact ? 200 : 280} />
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

function FunnelView({ query, res, compact }: { query: FunnelQuery; res: FunnelResult; compact: boolean }) {
  const p = useProject();
  const [sel, setSel] = useState<number | null>(null);
  const steps = res.steps;
  if (steps.length === 0 || steps[0]!.count === 0) return <Empty title="Nobody entered this funnel in this range." />;
  const first = steps[0]!.count;
  const unit = query.count_by === 'session' ? 'sessions' : 'persons';
  const chosen = sel !== null ? steps[sel] : undefined;
  // The engine labels a step by its event; the page it was narrowed to is
  // what tells "$pageview" steps apart.
  const label = (i: number, fallback: string) => {
    const st = query.steps[i];
    if (!st || st.label) return st?.label || fallback;
    const page = st.where?.find((f) => f.prop === 'path' || f.prop === 'url');
    const v = typeof page?.value === 'string' ? page.value.replace(/^\^|\$$/g, '').replace(/\.\*/g, '*').replace(/\\(.)/g, '$1') : '';
    return v ? `${fallback} ${v}` : fallback;
  };
  return (
    <div class="stack">
      <div class="funnel" role="group" aria-label="Funnel steps">
        {steps.map((s, i) => {
          const prev = i === 0 ? s.count : steps[i - 1]!.count;
          const fill = first ? (s.count / first) * 100 : 0;
          const drop = first ? ((prev - s.count) / first) * 100 : 0;
          return (
            <div class="step" key={i} data-step={i + 1} data-count={s.count}>
              <button
                type="button"
                class="col"
                aria-pressed={sel === i}
                aria-label={`Step ${i + 1}, ${label(i, s.label)}: ${s.count} ${unit}, ${fmtPct(s.conversion)} of the first step. Show who converted and who dropped off.`}
                disabled={compact}
                onClick={() => setSel(sel === i ? null : i)}
              >
                {i > 0 ? <div class="drop" style={{ height: `${drop}%` }} /> : null}
                <div class="fill" style={{ height: `${fill}%` }} />
              </button>
              <div class="label">
                {i + 1}. {label(i, s.label)}
              </div>
              <div>
                <strong class="step-count">{fmtNum(s.count)}</strong> <span class="muted">{unit}</span>
              </div>
              <div class="small">
                <span class="step-conversion">{fmtPct(s.conversion)}</span> of first
                {i > 0 ? <span class="muted"> · {fmtPct(s.conversion_from_previous ?? (prev ? s.count / prev : 0))} of previous</span> : null}
              </div>
              {i > 0 ? (
                <div class="small muted">
                  −{fmtNum(s.drop_off ?? prev - s.count)} dropped{s.median_seconds ? ` · median ${fmtDuration(s.median_seconds)}` : ''}
                </div>
              ) : null}
            </div>
          );
        })}
      </div>
      {compact ? null : <p class="small muted">Click a step to list who reached it and who dropped off before it, with their replays.</p>}
      {chosen ? (
        <div class="grid cols-2" aria-live="polite">
          <EntityList title={`Reached step ${sel! + 1}`} items={chosen.converted ?? []} pid={p.id} />
          {sel! > 0 ? <EntityList title={`Dropped off before step ${sel! + 1}`} items={chosen.dropped ?? []} pid={p.id} /> : null}
        </div>
      ) : null}
    </div>
  );
}

function EntityList({ title, items, pid }: { title: string; items: { person_id?: string; session_id?: string }[]; pid: number }) {
  return (
    <div class="card">
      <h3>{title}</h3>
      {items.length === 0 ? (
        <Empty title="No one to show." />
      ) : (
        <ul class="stack" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {items.map((e, i) => (
            <li key={i} class="row">
              <span class="grow ellipsis mono">{e.person_id ?? e.session_id}</span>
              {e.session_id ? (
                <Link class="button small" href={`/p/${pid}/replay/${encodeURIComponent(e.session_id)}`}>
                  ▶ Watch replay
                </Link>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </div>
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
