import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, put } from '../lib/api';
import { useAsync, useDebounced } from '../lib/hooks';
import { fmtDate } from '../lib/format';
import type { Breakdown, FunnelQuery, FunnelStep, InsightQuery, PathsQuery, RetentionQuery, Series, TrendsQuery } from '../lib/query';
import { href, navigate, setParams, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { DateRange, Suggest } from '../ui/controls';
import { EventPicker, FilterBar, filterReady, useNamed, withRef, type Named } from '../ui/filters';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import { InsightResult } from './insight-view';
import { useRange } from './overview';

export interface SavedObject<D> {
  id: number;
  name: string;
  description: string;
  definition: D;
  created_at: string;
  updated_at: string;
}

export interface DashboardDef {
  items: { insight: number }[];
}

const kinds: [InsightQuery['kind'], string][] = [
  ['trends', 'Trends'],
  ['funnel', 'Funnel'],
  ['retention', 'Retention'],
  ['paths', 'Journeys'],
];

export function defaultQuery(kind: string): InsightQuery {
  switch (kind) {
    case 'funnel':
      return { kind: 'funnel', steps: [{ event: '$pageview' }, { event: '$click' }], window_seconds: 7 * 86400, count_by: 'person', order: 'ordered' };
    case 'retention':
      return { kind: 'retention', start: { event: '$pageview' }, period: 'day', periods: 8, start_type: 'first_time' };
    case 'paths':
      return { kind: 'paths', path_type: 'pageview', depth: 5 };
    default:
      return { kind: 'trends', series: [{ event: '$pageview', math: 'events' }], interval: 'day', display: 'line' };
  }
}

export function InsightList() {
  useTitle('Insights');
  const p = useProject();
  const list = useAsync((s) => get<{ insights: SavedObject<InsightQuery>[] }>(`/api/projects/${p.id}/insights`, s), [p.id]);
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Insights</h1>
          <p>Trends, funnels, retention and journeys, saved for reuse and for dashboards.</p>
        </div>
        <Link class="button primary" href={`/p/${p.id}/insights/new`}>
          + New insight
        </Link>
      </div>
      <div class="card table-wrap">
        {list.loading && !list.data ? <Loading /> : null}
        {list.error ? <ErrorState error={list.error} retry={list.reload} /> : null}
        {list.data && list.data.insights.length === 0 ? (
          <Empty title="No saved insights yet.">
            <Link href={`/p/${p.id}/insights/new`}>Build one</Link>: a trend of pageviews, a signup funnel, weekly retention.
          </Empty>
        ) : null}
        {list.data && list.data.insights.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.insights.map((i) => (
                <tr key={i.id}>
                  <td>
                    <Link href={`/p/${p.id}/insights/${i.id}`}>{i.name}</Link>
                  </td>
                  <td>
                    <span class="badge">{i.definition.kind}</span>
                  </td>
                  <td>{fmtDate(i.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}

function parseQ(raw: string | null): InsightQuery | null {
  if (!raw) return null;
  try {
    const q = JSON.parse(raw) as InsightQuery;
    if (q && typeof q === 'object' && kinds.some(([k]) => k === q.kind)) return q;
  } catch {
    // fall through
  }
  return null;
}

export function InsightBuilder({ id }: { id?: number }) {
  const p = useProject();
  const loc = useLocation();
  const range = useRange();
  const saved = useAsync((s) => (id ? get<SavedObject<InsightQuery>>(`/api/projects/${p.id}/insights/${id}`, s) : Promise.resolve(null)), [p.id, id]);
  const urlQ = parseQ(loc.query.get('q'));
  useTitle(saved.data?.name ?? 'New insight');

  // A saved insight opens with its definition in the URL, so edits and
  // shares work the same way as for a new one.
  useEffect(() => {
    if (saved.data && !loc.query.get('q')) {
      const { date_from, date_to, ...rest } = saved.data.definition;
      setParams({ q: JSON.stringify(rest), from: date_from && date_from !== '-7d' ? date_from : null, to: date_to && date_to !== 'today' ? date_to : null });
    }
  }, [saved.data]);

  const q: InsightQuery = urlQ ?? (id ? (saved.data?.definition ?? defaultQuery('trends')) : defaultQuery('trends'));
  const setQ = (next: InsightQuery) => setParams({ q: JSON.stringify(next) });
  const actions = useNamed(p.id, 'actions');
  const segments = useNamed(p.id, 'segments');
  // Filters being typed stay in the URL but are not sent until complete.
  const ready = (q.filters ?? []).filter(filterReady);
  const full = { ...q, filters: ready.length ? ready : undefined, date_from: range.from, date_to: range.to } as InsightQuery;
  const debounced = useDebounced(JSON.stringify(full), 400);

  if (id && saved.loading && !saved.data) return <Loading />;
  if (id && saved.error) return <ErrorState error={saved.error} retry={saved.reload} />;
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>{saved.data?.name ?? 'New insight'}</h1>
          <p>
            <Link href={`/p/${p.id}/insights`}>← All insights</Link>
          </p>
        </div>
        <div class="row">
          <DateRange from={range.from} to={range.to} onChange={range.set} />
          {p.canEdit ? <SaveInsight id={id} name={saved.data?.name} query={full} /> : null}
        </div>
      </div>
      <div class="tabs" role="tablist" aria-label="Insight kind">
        {kinds.map(([k, label]) => (
          <button key={k} type="button" role="tab" aria-selected={q.kind === k} onClick={() => q.kind !== k && setQ(defaultQuery(k))}>
            {label}
          </button>
        ))}
      </div>
      <div class="card">
        {q.kind === 'trends' ? <TrendsEditor q={q} set={setQ} actions={actions} /> : null}
        {q.kind === 'funnel' ? <FunnelEditor q={q} set={setQ} actions={actions} /> : null}
        {q.kind === 'retention' ? <RetentionEditor q={q} set={setQ} actions={actions} /> : null}
        {q.kind === 'paths' ? <PathsEditor q={q} set={setQ} /> : null}
      </div>
      <div class="card">
        <FilterBar pid={p.id} filters={q.filters ?? []} segments={segments} onChange={(f) => setQ({ ...q, filters: f.length ? f : undefined })} />
      </div>
      <div class="card" data-testid="insight-result">
        <InsightResult query={JSON.parse(debounced) as InsightQuery} />
      </div>
    </div>
  );
}

const maths: [string, string][] = [
  ['events', 'Total count'],
  ['persons', 'Unique persons'],
  ['sessions', 'Unique sessions'],
  ['sum', 'Sum of property'],
  ['avg', 'Average of property'],
  ['min', 'Minimum of property'],
  ['max', 'Maximum of property'],
  ['median', 'Median of property'],
  ['p90', '90th percentile of property'],
  ['p99', '99th percentile of property'],
];

const breakdownProps = ['path', 'url', 'host', 'referring_domain', 'browser', 'os', 'device_type', 'utm_source', 'utm_medium', 'utm_campaign', 'title'];

function TrendsEditor({ q, set, actions }: { q: TrendsQuery; set: (q: TrendsQuery) => void; actions: Named[] }) {
  const upd = (i: number, s: Partial<Series>) => set({ ...q, series: q.series.map((x, j) => (j === i ? { ...x, ...s } : x)) });
  return (
    <div class="stack">
      <fieldset class="stack">
        <legend>Series</legend>
        {q.series.map((s, i) => (
          <div class="row" key={i}>
            <strong aria-hidden="true">{String.fromCharCode(65 + i)}</strong>
            <EventPicker
              id={`series-${i}`}
              label={`Event of series ${String.fromCharCode(65 + i)}`}
              value={s}
              actions={actions}
              onChange={(ref) => set({ ...q, series: q.series.map((x, j) => (j === i ? withRef(x, ref) : x)) })}
            />
            <select aria-label="Aggregation" value={s.math ?? 'events'} onChange={(e) => upd(i, { math: (e.target as HTMLSelectElement).value })}>
              {maths.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
            {s.math && !['events', 'persons', 'sessions'].includes(s.math) ? (
              <input aria-label="Property" placeholder="property, e.g. price" value={s.property ?? ''} onInput={(e) => upd(i, { property: (e.target as HTMLInputElement).value })} />
            ) : null}
            {q.series.length > 1 ? (
              <button type="button" class="small" aria-label={`Remove series ${String.fromCharCode(65 + i)}`} onClick={() => set({ ...q, series: q.series.filter((_, j) => j !== i) })}>
                ✕
              </button>
            ) : null}
          </div>
        ))}
        {q.series.length < 10 ? (
          <div>
            <button type="button" class="small" onClick={() => set({ ...q, series: [...q.series, { event: '$pageview', math: 'events' }] })}>
              + Add series
            </button>
          </div>
        ) : null}
      </fieldset>
      <div class="row">
        <label>
          Interval
          <select value={q.interval ?? 'day'} onChange={(e) => set({ ...q, interval: (e.target as HTMLSelectElement).value })}>
            <option value="hour">Hour</option>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </label>
        <label>
          Chart
          <select value={q.display ?? 'line'} onChange={(e) => set({ ...q, display: (e.target as HTMLSelectElement).value as 'line' | 'bar' })}>
            <option value="line">Line</option>
            <option value="bar">Bar</option>
          </select>
        </label>
        <label>
          Breakdown by
          <Suggest
            id="breakdown"
            label="Breakdown property"
            value={q.breakdown?.prop ?? ''}
            placeholder="none"
            options={breakdownProps}
            onInput={(v) => set({ ...q, breakdown: v ? ({ ...(q.breakdown ?? {}), prop: v } as Breakdown) : undefined })}
          />
        </label>
        <label>
          Formula
          <input placeholder="e.g. B / A * 100" value={q.formula ?? ''} onInput={(e) => set({ ...q, formula: (e.target as HTMLInputElement).value || undefined })} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={!!q.compare} onChange={(e) => set({ ...q, compare: (e.target as HTMLInputElement).checked || undefined })} /> Compare with the
          previous period
        </label>
      </div>
    </div>
  );
}

/** The page of a funnel step as the user typed it: "/product/*" is stored as a regex. */
function stepPath(s: FunnelStep): string {
  const w = s.where?.find((f) => f.prop === 'path');
  if (typeof w?.value !== 'string') return '';
  if (w.op === 'regex' && w.value.startsWith('^') && w.value.endsWith('$')) {
    return w.value
      .slice(1, -1)
      .split('.*')
      .map((part) => part.replace(/\\(.)/g, '$1'))
      .join('*');
  }
  return w.value;
}

function FunnelEditor({ q, set, actions }: { q: FunnelQuery; set: (q: FunnelQuery) => void; actions: Named[] }) {
  const upd = (i: number, s: FunnelStep) => set({ ...q, steps: q.steps.map((x, j) => (j === i ? s : x)) });
  const move = (i: number, d: number) => {
    const steps = [...q.steps];
    const [x] = steps.splice(i, 1);
    steps.splice(i + d, 0, x!);
    set({ ...q, steps });
  };
  return (
    <div class="stack">
      <fieldset class="stack">
        <legend>Steps</legend>
        {q.steps.map((s, i) => (
          <div class="row" key={i} data-testid="funnel-step">
            <strong>{i + 1}.</strong>
            <EventPicker id={`step-${i}`} label={`Event of step ${i + 1}`} value={s} actions={actions} onChange={(ref) => upd(i, withRef(s, ref))} />
            <input
              aria-label={`Page path of step ${i + 1}`}
              placeholder="on any page (or /path)"
              value={stepPath(s)}
              onInput={(e) => {
                const v = (e.target as HTMLInputElement).value;
                const others = (s.where ?? []).filter((f) => f.prop !== 'path');
                upd(i, { ...s, where: v ? [...others, { prop: 'path', op: v.includes('*') ? 'regex' : 'eq', value: v.includes('*') ? '^' + v.split('*').map(escapeRe).join('.*') + '$' : v }] : others.length ? others : undefined });
              }}
            />
            <button type="button" class="small" aria-label={`Move step ${i + 1} up`} disabled={i === 0} onClick={() => move(i, -1)}>
              ↑
            </button>
            <button type="button" class="small" aria-label={`Move step ${i + 1} down`} disabled={i === q.steps.length - 1} onClick={() => move(i, 1)}>
              ↓
            </button>
            {q.steps.length > 2 ? (
              <button type="button" class="small" aria-label={`Remove step ${i + 1}`} onClick={() => set({ ...q, steps: q.steps.filter((_, j) => j !== i) })}>
                ✕
              </button>
            ) : null}
          </div>
        ))}
        {q.steps.length < 20 ? (
          <div>
            <button type="button" class="small" onClick={() => set({ ...q, steps: [...q.steps, { event: '$pageview' }] })}>
              + Add step
            </button>
          </div>
        ) : null}
      </fieldset>
      <div class="row">
        <label>
          Conversion window
          <select value={String(q.window_seconds ?? 14 * 86400)} onChange={(e) => set({ ...q, window_seconds: Number((e.target as HTMLSelectElement).value) })}>
            <option value={String(3600)}>1 hour</option>
            <option value={String(86400)}>1 day</option>
            <option value={String(7 * 86400)}>7 days</option>
            <option value={String(14 * 86400)}>14 days</option>
            <option value={String(30 * 86400)}>30 days</option>
          </select>
        </label>
        <label>
          Count
          <select value={q.count_by ?? 'person'} onChange={(e) => set({ ...q, count_by: (e.target as HTMLSelectElement).value as 'person' | 'session' })}>
            <option value="person">Persons</option>
            <option value="session">Sessions</option>
          </select>
        </label>
        <label>
          Step order
          <select value={q.order ?? 'ordered'} onChange={(e) => set({ ...q, order: (e.target as HTMLSelectElement).value as FunnelQuery['order'] })}>
            <option value="ordered">In order, other events between</option>
            <option value="strict">Strictly in order, nothing between</option>
            <option value="unordered">Any order</option>
          </select>
        </label>
      </div>
    </div>
  );
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function RetentionEditor({ q, set, actions }: { q: RetentionQuery; set: (q: RetentionQuery) => void; actions: Named[] }) {
  return (
    <div class="row">
      <label>
        Cohort by first
        <EventPicker id="ret-start" label="Start event" value={q.start} actions={actions} onChange={(ref) => set({ ...q, start: withRef(q.start, ref) })} />
      </label>
      <label>
        Came back with
        <EventPicker
          id="ret-return"
          label="Return event"
          value={q.return ?? {}}
          placeholder="the same event"
          actions={actions}
          onChange={(ref) => set({ ...q, return: ref.action || ref.event ? ref : undefined })}
        />
      </label>
      <label>
        Cohorts
        <select value={q.start_type ?? 'first_time'} onChange={(e) => set({ ...q, start_type: (e.target as HTMLSelectElement).value as RetentionQuery['start_type'] })}>
          <option value="first_time">First time</option>
          <option value="recurring">Recurring</option>
        </select>
      </label>
      <label>
        Period
        <select value={q.period ?? 'week'} onChange={(e) => set({ ...q, period: (e.target as HTMLSelectElement).value as RetentionQuery['period'] })}>
          <option value="day">Day</option>
          <option value="week">Week</option>
          <option value="month">Month</option>
        </select>
      </label>
      <label>
        Periods
        <input type="number" min={2} max={30} value={q.periods ?? 8} onInput={(e) => set({ ...q, periods: Number((e.target as HTMLInputElement).value) || 8 })} />
      </label>
    </div>
  );
}

function PathsEditor({ q, set }: { q: PathsQuery; set: (q: PathsQuery) => void }) {
  return (
    <div class="row">
      <label>
        Steps of
        <select value={q.path_type ?? 'pageview'} onChange={(e) => set({ ...q, path_type: (e.target as HTMLSelectElement).value as PathsQuery['path_type'] })}>
          <option value="pageview">Pages</option>
          <option value="event">Events</option>
        </select>
      </label>
      <label>
        Starting at
        <input placeholder="anywhere (or /path)" value={q.start_point ?? ''} onInput={(e) => set({ ...q, start_point: (e.target as HTMLInputElement).value || undefined })} />
      </label>
      <label>
        Ending at
        <input placeholder="anywhere (or /path)" value={q.end_point ?? ''} onInput={(e) => set({ ...q, end_point: (e.target as HTMLInputElement).value || undefined })} />
      </label>
      <label>
        Depth
        <input type="number" min={2} max={10} value={q.depth ?? 5} onInput={(e) => set({ ...q, depth: Math.min(10, Math.max(2, Number((e.target as HTMLInputElement).value) || 5)) })} />
      </label>
    </div>
  );
}

function SaveInsight({ id, name, query }: { id?: number; name?: string; query: InsightQuery }) {
  const p = useProject();
  const sess = useSession();
  const dlg = useRef<HTMLDialogElement>(null);
  const [title, setTitle] = useState(name ?? '');
  const [board, setBoard] = useState('');
  const [newBoard, setNewBoard] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const boards = useAsync((s) => get<{ dashboards: SavedObject<DashboardDef>[] }>(`/api/projects/${p.id}/dashboards`, s), [p.id]);
  useEffect(() => setTitle(name ?? ''), [name]);
  return (
    <>
      <button type="button" class="primary" onClick={() => dlg.current?.showModal()}>
        {id ? 'Save…' : 'Save insight…'}
      </button>
      <dialog ref={dlg} aria-labelledby="save-title">
        <form
          class="form"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError('');
            try {
              const body = { name: title, definition: query };
              const saved = id ? await put<SavedObject<InsightQuery>>(`/api/projects/${p.id}/insights/${id}`, body) : await post<SavedObject<InsightQuery>>(`/api/projects/${p.id}/insights`, body);
              let boardID = board === 'new' ? 0 : Number(board);
              if (board === 'new') {
                const d = await post<SavedObject<DashboardDef>>(`/api/projects/${p.id}/dashboards`, { name: newBoard, definition: { items: [] } });
                boardID = d.id;
              }
              if (boardID) {
                const d = await get<SavedObject<DashboardDef>>(`/api/projects/${p.id}/dashboards/${boardID}`);
                const items = d.definition.items ?? [];
                if (!items.some((x) => x.insight === saved.id)) items.push({ insight: saved.id });
                await put(`/api/projects/${p.id}/dashboards/${boardID}`, { name: d.name, description: d.description, definition: { ...d.definition, items } });
              }
              dlg.current?.close();
              sess.toast(boardID ? 'Saved and added to the dashboard' : 'Insight saved');
              if (boardID) navigate(`/p/${p.id}/dashboards/${boardID}`);
              else if (!id) navigate(href(`/p/${p.id}/insights/${saved.id}`, Object.fromEntries(new URLSearchParams(location.search))));
            } catch (err) {
              setError(err instanceof ApiError ? err.message : 'Could not save.');
            } finally {
              setBusy(false);
            }
          }}
        >
          <h2 id="save-title">Save insight</h2>
          <label>
            Name
            <input name="insight-name" required maxLength={200} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Add to dashboard
            <select name="dashboard" value={board} onChange={(e) => setBoard((e.target as HTMLSelectElement).value)}>
              <option value="">Don't add</option>
              {(boards.data?.dashboards ?? []).map((d) => (
                <option key={d.id} value={String(d.id)}>
                  {d.name}
                </option>
              ))}
              <option value="new">New dashboard…</option>
            </select>
          </label>
          {board === 'new' ? (
            <label>
              Dashboard name
              <input name="dashboard-name" required value={newBoard} onInput={(e) => setNewBoard((e.target as HTMLInputElement).value)} />
            </label>
          ) : null}
          {error ? (
            <div class="field-error" role="alert">
              {error}
            </div>
          ) : null}
          <div class="row">
            <button class="primary" type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={() => dlg.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
