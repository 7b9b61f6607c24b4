import { useEffect, useState } from 'preact/hooks';
import { isAbort } from '../lib/api';
import { fmtDuration, fmtNum, fmtTime, pathOf } from '../lib/format';
import { runQuery, type SessionRow, type SessionsQuery, type SessionsResult } from '../lib/query';
import { href, navigate, setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { DateRange } from '../ui/controls';
import { useNamed } from '../ui/filters';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';
import { useRange } from './overview';

export function FrustrationBadges({ s }: { s: Pick<SessionRow, 'rage_clicks' | 'dead_clicks' | 'error_clicks'> }) {
  return (
    <span class="row" style={{ gap: '0.25rem' }}>
      {s.rage_clicks ? <span class="badge rage">{s.rage_clicks} rage</span> : null}
      {s.dead_clicks ? <span class="badge dead">{s.dead_clicks} dead</span> : null}
      {s.error_clicks ? <span class="badge error">{s.error_clicks} error</span> : null}
    </span>
  );
}

export function SessionsPage() {
  useTitle('Sessions');
  const p = useProject();
  const loc = useLocation();
  const r = useRange();
  const qp = loc.query;
  const filters = {
    url: qp.get('url') ?? '',
    min_frustration: Number(qp.get('min_frustration') ?? 0),
    device: qp.get('device') ?? '',
    replay: qp.get('replay') ?? '',
    min_duration: Number(qp.get('min_duration') ?? 0),
    order: qp.get('order') ?? 'start',
    segment: Number(qp.get('segment') ?? 0),
  };
  const segments = useNamed(p.id, 'segments');
  const [rows, setRows] = useState<SessionRow[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | undefined>();
  const [urlDraft, setUrlDraft] = useState(filters.url);

  const query = (c?: string): SessionsQuery => ({
    kind: 'sessions',
    date_from: r.from,
    date_to: r.to,
    visited_url: filters.url || undefined,
    min_frustration: filters.min_frustration || undefined,
    device_type: filters.device || undefined,
    has_replay: filters.replay === 'yes' ? true : filters.replay === 'no' ? false : undefined,
    min_duration: filters.min_duration || undefined,
    order_by: filters.order,
    filters: filters.segment ? [{ type: 'segment', op: 'in', value: filters.segment }] : undefined,
    limit: 50,
    cursor: c,
  });
  const key = JSON.stringify(query());
  const load = async (c: string | undefined, signal?: AbortSignal) => {
    setLoading(true);
    setError(undefined);
    try {
      const res = await runQuery<SessionsResult>(p.id, query(c), signal);
      setRows((prev) => (c ? [...prev, ...res.sessions] : res.sessions));
      setCursor(res.next_cursor);
    } catch (e) {
      if (!isAbort(e)) setError(e as Error);
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  };
  useEffect(() => {
    const ctl = new AbortController();
    load(undefined, ctl.signal);
    return () => ctl.abort();
  }, [p.id, key]);

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Sessions</h1>
          <p>Every visit, with its frustration signals; open one to watch its replay.</p>
        </div>
        <DateRange from={r.from} to={r.to} onChange={r.set} />
      </div>
      <form
        class="card row"
        aria-label="Session filters"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ url: urlDraft });
        }}
      >
        <label>
          Visited page
          <input placeholder="/checkout or /product/*" value={urlDraft} onInput={(e) => setUrlDraft((e.target as HTMLInputElement).value)} onBlur={() => setParams({ url: urlDraft })} />
        </label>
        <label>
          Frustration
          <select value={String(filters.min_frustration)} onChange={(e) => setParams({ min_frustration: Number((e.target as HTMLSelectElement).value) || null })}>
            <option value="0">Any</option>
            <option value="1">At least 1 signal</option>
            <option value="3">At least 3 signals</option>
          </select>
        </label>
        <label>
          Device
          <select value={filters.device} onChange={(e) => setParams({ device: (e.target as HTMLSelectElement).value })}>
            <option value="">Any</option>
            <option value="desktop">Desktop</option>
            <option value="mobile">Mobile</option>
            <option value="tablet">Tablet</option>
          </select>
        </label>
        <label>
          Replay
          <select value={filters.replay} onChange={(e) => setParams({ replay: (e.target as HTMLSelectElement).value })}>
            <option value="">Any</option>
            <option value="yes">With replay</option>
            <option value="no">Without replay</option>
          </select>
        </label>
        <label>
          Longer than
          <select value={String(filters.min_duration)} onChange={(e) => setParams({ min_duration: Number((e.target as HTMLSelectElement).value) || null })}>
            <option value="0">Any length</option>
            <option value="10">10 seconds</option>
            <option value="60">1 minute</option>
            <option value="300">5 minutes</option>
          </select>
        </label>
        <label>
          Persons in segment
          <select value={String(filters.segment || '')} onChange={(e) => setParams({ segment: Number((e.target as HTMLSelectElement).value) || null })}>
            <option value="">Anyone</option>
            {segments.map((sg) => (
              <option key={sg.id} value={String(sg.id)}>
                {sg.name}
              </option>
            ))}
            {filters.segment && !segments.some((sg) => sg.id === filters.segment) ? <option value={String(filters.segment)}>Segment #{filters.segment}</option> : null}
          </select>
        </label>
        <label>
          Sort by
          <select value={filters.order} onChange={(e) => setParams({ order: (e.target as HTMLSelectElement).value === 'start' ? null : (e.target as HTMLSelectElement).value })}>
            <option value="start">Newest</option>
            <option value="duration">Longest</option>
            <option value="active_time">Most active</option>
            <option value="pages">Most pages</option>
            <option value="frustration">Most frustrated</option>
          </select>
        </label>
      </form>
      <div class="card table-wrap">
        <Progress active={loading && rows.length > 0} />
        {error ? <ErrorState error={error} retry={() => load(undefined)} /> : null}
        {loading && rows.length === 0 ? <Loading /> : null}
        {!loading && !error && rows.length === 0 ? <Empty title="No sessions match these filters." /> : null}
        {rows.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Person</th>
                <th class="num">Duration</th>
                <th class="num">Pages</th>
                <th>Entry → exit</th>
                <th>Device</th>
                <th>Signals</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => {
                const to = href(`/p/${p.id}/replay/${encodeURIComponent(s.session_id)}`);
                return (
                  <tr key={s.session_id} class="clickable" onClick={(e) => !(e.target as HTMLElement).closest('a') && navigate(to)}>
                    <td class="nowrap">{fmtTime(s.start)}</td>
                    <td class="ellipsis mono" style={{ maxWidth: '12rem' }}>
                      {s.person_id || s.distinct_id}
                    </td>
                    <td class="num">
                      {fmtDuration(s.duration_seconds)}
                      <div class="small muted">{fmtDuration(s.active_seconds)} active</div>
                    </td>
                    <td class="num">{fmtNum(s.pages)}</td>
                    <td class="ellipsis small">
                      {pathOf(s.entry_url)} → {pathOf(s.exit_url)}
                    </td>
                    <td class="small">
                      {s.device_type} · {s.browser}
                    </td>
                    <td>
                      <FrustrationBadges s={s} />
                    </td>
                    <td class="right">
                      <Link class="button small" href={to} aria-label={`Open session started ${fmtTime(s.start)}`}>
                        {s.has_replay ? '▶ Replay' : 'Events'}
                      </Link>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        {cursor && rows.length > 0 ? (
          <div class="row" style={{ justifyContent: 'center', marginTop: '0.75rem' }}>
            <button type="button" disabled={loading} onClick={() => load(cursor)}>
              {loading ? 'Loading…' : 'Load more'}
            </button>
          </div>
        ) : null}
      </div>
    </div>
  );
}
