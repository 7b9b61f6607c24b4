import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, post, put } from '../lib/api';
import { useAsync, useInterval } from '../lib/hooks';
import { fmtDate } from '../lib/format';
import type { InsightQuery } from '../lib/query';
import { href, navigate, setParams, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { DateRange } from '../ui/controls';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import { InsightResult } from './insight-view';
import type { DashboardDef, SavedObject } from './insights';

export function DashboardList() {
  useTitle('Dashboards');
  const p = useProject();
  const list = useAsync((s) => get<{ dashboards: SavedObject<DashboardDef>[] }>(`/api/projects/${p.id}/dashboards`, s), [p.id]);
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Dashboards</h1>
          <p>Saved insights side by side, refreshed on their own.</p>
        </div>
      </div>
      {p.canEdit ? (
        <form
          class="card row"
          onSubmit={async (e) => {
            e.preventDefault();
            setError('');
            try {
              const d = await post<SavedObject<DashboardDef>>(`/api/projects/${p.id}/dashboards`, { name, definition: { items: [] } });
              navigate(`/p/${p.id}/dashboards/${d.id}`);
            } catch (err) {
              setError(err instanceof ApiError ? err.message : 'Could not create the dashboard.');
            }
          }}
        >
          <label class="grow">
            <span class="sr-only">Dashboard name</span>
            <input required placeholder="New dashboard name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <button class="primary" type="submit">
            Create dashboard
          </button>
          {error ? <span class="field-error">{error}</span> : null}
        </form>
      ) : null}
      <div class="card">
        {list.loading && !list.data ? <Loading /> : null}
        {list.error ? <ErrorState error={list.error} retry={list.reload} /> : null}
        {list.data && list.data.dashboards.length === 0 ? <Empty title="No dashboards yet.">Save an insight and add it to a new dashboard.</Empty> : null}
        {list.data && list.data.dashboards.length > 0 ? (
          <ul class="stack" style={{ listStyle: 'none', margin: 0, padding: 0 }}>
            {list.data.dashboards.map((d) => (
              <li key={d.id} class="row">
                <Link class="grow" href={`/p/${p.id}/dashboards/${d.id}`}>
                  {d.name}
                </Link>
                <span class="muted small">
                  {(d.definition.items ?? []).length} insights · updated {fmtDate(d.updated_at)}
                </span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

export function DashboardView({ id }: { id: number }) {
  const p = useProject();
  const sess = useSession();
  const loc = useLocation();
  const board = useAsync((s) => get<SavedObject<DashboardDef>>(`/api/projects/${p.id}/dashboards/${id}`, s), [p.id, id]);
  const insights = useAsync((s) => get<{ insights: SavedObject<InsightQuery>[] }>(`/api/projects/${p.id}/insights`, s), [p.id]);
  const from = loc.query.get('from') ?? '';
  const to = loc.query.get('to') ?? '';
  const refresh = Number(loc.query.get('refresh') ?? 0);
  const [tick, setTick] = useState(0);
  const [refreshedAt, setRefreshedAt] = useState(() => Date.now());
  useInterval(() => setTick((t) => t + 1), refresh > 0 ? refresh * 1000 : null);
  useEffect(() => setRefreshedAt(Date.now()), [tick]);
  useTitle(board.data?.name ?? 'Dashboard');

  if (board.loading && !board.data) return <Loading />;
  if (board.error) return <ErrorState error={board.error} retry={board.reload} />;
  const d = board.data!;
  const byID = new Map((insights.data?.insights ?? []).map((i) => [i.id, i]));
  const items = d.definition.items ?? [];
  const removeItem = async (insight: number) => {
    await put(`/api/projects/${p.id}/dashboards/${id}`, { name: d.name, description: d.description, definition: { ...d.definition, items: items.filter((x) => x.insight !== insight) } });
    board.reload();
    sess.toast('Removed from the dashboard');
  };
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>{d.name}</h1>
          <p>
            <Link href={`/p/${p.id}/dashboards`}>← All dashboards</Link>
          </p>
        </div>
        <div class="row">
          <label class="inline">
            <input
              type="checkbox"
              checked={!!from}
              onChange={(e) => setParams((e.target as HTMLInputElement).checked ? { from: '-7d', to: 'today' } : { from: null, to: null })}
            />{' '}
            Override dates
          </label>
          {from ? <DateRange from={from} to={to || 'today'} onChange={(f, t) => setParams({ from: f, to: t })} /> : null}
          <label class="inline">
            Auto-refresh
            <select value={String(refresh)} onChange={(e) => setParams({ refresh: Number((e.target as HTMLSelectElement).value) || null })}>
              <option value="0">Off</option>
              <option value="10">Every 10 seconds</option>
              <option value="30">Every 30 seconds</option>
              <option value="60">Every minute</option>
              <option value="300">Every 5 minutes</option>
              <option value="900">Every 15 minutes</option>
              {![0, 10, 30, 60, 300, 900].includes(refresh) ? <option value={String(refresh)}>Every {refresh} seconds</option> : null}
            </select>
          </label>
          <button type="button" class="small" onClick={() => setTick((t) => t + 1)}>
            Refresh now
          </button>
          <span class="small muted" data-testid="refreshed-at" aria-live="polite">
            Updated {new Date(refreshedAt).toLocaleTimeString()}
          </span>
          {p.canEdit ? (
            <button
              type="button"
              class="small danger"
              onClick={async () => {
                if (!confirm(`Delete the dashboard "${d.name}"? Its insights stay saved.`)) return;
                await del(`/api/projects/${p.id}/dashboards/${id}`);
                navigate(`/p/${p.id}/dashboards`);
              }}
            >
              Delete
            </button>
          ) : null}
        </div>
      </div>
      {items.length === 0 ? (
        <Empty title="This dashboard is empty.">
          <Link href={`/p/${p.id}/insights/new`}>Build an insight</Link> and save it to this dashboard.
        </Empty>
      ) : null}
      <div class="grid cols-2">
        {items.map((it) => {
          const ins = byID.get(it.insight);
          if (!ins) {
            return insights.loading ? (
              <div class="card" key={it.insight}>
                <Loading />
              </div>
            ) : (
              <div class="card" key={it.insight}>
                <Empty title="This insight was deleted." />
                {p.canEdit ? (
                  <button type="button" class="small" onClick={() => removeItem(it.insight)}>
                    Remove
                  </button>
                ) : null}
              </div>
            );
          }
          const q = { ...ins.definition, ...(from ? { date_from: from, date_to: to || 'today' } : {}) } as InsightQuery;
          return (
            <section class="card" key={it.insight} aria-label={ins.name}>
              <div class="card-head">
                <h3>
                  <Link href={href(`/p/${p.id}/insights/${ins.id}`)}>{ins.name}</Link>
                </h3>
                {p.canEdit ? (
                  <button type="button" class="small" aria-label={`Remove ${ins.name} from the dashboard`} onClick={() => removeItem(it.insight)}>
                    ✕
                  </button>
                ) : null}
              </div>
              <InsightResult query={q} compact refresh={tick} />
            </section>
          );
        })}
      </div>
    </div>
  );
}
