import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { useInterval } from '../lib/hooks';
import { eventLabel, fmtTime, pathOf } from '../lib/format';
import { setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import type { StoredEvent } from './replay';

type LiveEvent = StoredEvent & { received_at: string };

export function LivePage() {
  useTitle('Live events');
  const p = useProject();
  const loc = useLocation();
  const filter = loc.query.get('event') ?? '';
  const [rows, setRows] = useState<LiveEvent[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [paused, setPaused] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const newest = useRef('');

  const poll = async (initial: boolean) => {
    const q = new URLSearchParams({ limit: '100' });
    if (!initial && newest.current) q.set('after', newest.current);
    if (filter) q.set('event', filter);
    try {
      const res = await get<{ events: LiveEvent[] }>(`/api/projects/${p.id}/events?${q}`);
      setError(null);
      if (res.events.length > 0) newest.current = res.events[0]!.received_at;
      setRows((prev) => (initial ? res.events : [...res.events, ...prev].slice(0, 500)));
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    newest.current = '';
    setLoading(true);
    poll(true);
  }, [p.id, filter]);
  useInterval(() => poll(false), paused ? null : 2000);

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Live events</h1>
          <p>Events as they arrive, for checking an installation.</p>
        </div>
        <div class="row">
          <span class={paused ? 'badge' : 'badge live'} aria-live="polite">
            {paused ? 'Paused' : '● Live'}
          </span>
          <button type="button" onClick={() => setPaused(!paused)}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <label class="inline">
            <span class="sr-only">Event name</span>
            <input placeholder="Filter by event name" value={filter} onChange={(e) => setParams({ event: (e.target as HTMLInputElement).value })} />
          </label>
        </div>
      </div>
      <div class="card table-wrap">
        {error ? <ErrorState error={error} retry={() => poll(true)} /> : null}
        {loading ? <Loading /> : null}
        {!loading && rows.length === 0 ? <Empty title="No events yet.">Open a page with the snippet installed; its events show here within seconds.</Empty> : null}
        {rows.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Received</th>
                <th>Event</th>
                <th>Page</th>
                <th>Person</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <Fragment key={e.uuid}>
                  <tr>
                    <td class="nowrap small">{fmtTime(e.received_at)}</td>
                    <td>
                      <span class={`badge ${e.rage ? 'rage' : e.dead ? 'dead' : e.error_click ? 'error' : ''}`}>{eventLabel(e.event)}</span>
                      {e.selector ? <div class="small mono ellipsis">{e.selector}</div> : null}
                    </td>
                    <td class="ellipsis small">{pathOf(e.url)}</td>
                    <td class="ellipsis small mono">
                      <Link href={`/p/${p.id}/replay/${encodeURIComponent(e.session_id)}`}>{e.distinct_id}</Link>
                    </td>
                    <td class="right">
                      <button type="button" class="small" aria-expanded={open === e.uuid} onClick={() => setOpen(open === e.uuid ? null : e.uuid)}>
                        {open === e.uuid ? 'Hide' : 'Details'}
                      </button>
                    </td>
                  </tr>
                  {open === e.uuid ? (
                    <tr>
                      <td colSpan={5}>
                        <pre>{JSON.stringify(e, null, 2)}</pre>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}
