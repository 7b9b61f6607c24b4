import { useAsync } from '../lib/hooks';
import { fmtNum, fmtPct } from '../lib/format';
import { intervalFor, runQuery, type FrustrationResult } from '../lib/query';
import { href } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { TimeChart } from '../ui/chart';
import { DateRange } from '../ui/controls';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading, Progress, Stat } from '../ui/states';
import { useRange } from './overview';

export function FrustrationPage() {
  useTitle('Frustration');
  const p = useProject();
  const r = useRange();
  const res = useAsync((s) => runQuery<FrustrationResult>(p.id, { kind: 'frustration', date_from: r.from, date_to: r.to, interval: intervalFor(r.from), limit: 15 }, s), [p.id, r.from, r.to]);
  const d = res.data;
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Frustration</h1>
          <p>Rage clicks, dead clicks and clicks followed by errors: where the product fights back.</p>
        </div>
        <DateRange from={r.from} to={r.to} onChange={r.set} />
      </div>
      <Progress active={res.loading && !!d} />
      {res.loading && !d ? <Loading /> : null}
      {res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {d ? (
        <>
          <div class="grid stats">
            <Stat label="Rage clicks" value={fmtNum(d.totals.rage_clicks)} />
            <Stat label="Dead clicks" value={fmtNum(d.totals.dead_clicks)} />
            <Stat label="Error clicks" value={fmtNum(d.totals.error_clicks)} />
            <Stat label="Sessions affected" value={fmtPct(d.affected_share)} hint={`${fmtNum(d.totals.sessions)} of ${fmtNum(d.sessions)}`} />
          </div>
          <div class="card">
            <h2>Over time</h2>
            {d.trend.length === 0 || d.trend.every((t) => !t.rage_clicks && !t.dead_clicks && !t.error_clicks) ? (
              <Empty title="No frustration signals in this range." />
            ) : (
              <TimeChart
                kind="bar"
                times={d.trend.map((t) => Date.parse(t.t))}
                series={[
                  { label: 'Rage clicks', values: d.trend.map((t) => t.rage_clicks) },
                  { label: 'Dead clicks', values: d.trend.map((t) => t.dead_clicks) },
                  { label: 'Error clicks', values: d.trend.map((t) => t.error_clicks) },
                ]}
              />
            )}
          </div>
          <div class="grid cols-2">
            <div class="card table-wrap">
              <h2>Pages</h2>
              {d.pages.length === 0 ? (
                <Empty title="No pages with signals." />
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Page</th>
                      <th class="num">Rage</th>
                      <th class="num">Dead</th>
                      <th class="num">Error</th>
                      <th class="num">Sessions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.pages.map((pg) => (
                      <tr key={pg.path}>
                        <td class="ellipsis">
                          {pg.path}
                          <div class="small">
                            <Link href={href(`/p/${p.id}/sessions`, { url: pg.path, min_frustration: 1, order: 'frustration' })}>Replays</Link> ·{' '}
                            <Link
                              href={href(`/p/${p.id}/heatmaps`, {
                                url: pg.path,
                                // The layer of the page's main problem, over the same dates.
                                layer: pg.rage_clicks >= pg.dead_clicks ? 'rage' : 'dead',
                                from: r.from === '-7d' ? null : r.from,
                                to: r.to === 'today' ? null : r.to,
                              })}
                            >
                              Heatmap
                            </Link>
                          </div>
                        </td>
                        <td class="num">{fmtNum(pg.rage_clicks)}</td>
                        <td class="num">{fmtNum(pg.dead_clicks)}</td>
                        <td class="num">{fmtNum(pg.error_clicks)}</td>
                        <td class="num">{fmtNum(pg.sessions)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
            <div class="card table-wrap">
              <h2>Elements</h2>
              {d.elements.length === 0 ? (
                <Empty title="No elements with signals." />
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Element</th>
                      <th class="num">Rage</th>
                      <th class="num">Dead</th>
                      <th class="num">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.elements.map((el, i) => (
                      <tr key={el.selector + i}>
                        <td>
                          <code style={{ overflowWrap: 'anywhere' }}>{el.selector}</code>
                          {el.path ? <div class="small muted">on {el.path}</div> : null}
                          {el.path ? (
                            <div class="small">
                              <Link href={href(`/p/${p.id}/sessions`, { url: el.path, min_frustration: 1, order: 'frustration' })}>Affected replays</Link>
                            </div>
                          ) : null}
                        </td>
                        <td class="num">{fmtNum(el.rage_clicks)}</td>
                        <td class="num">{fmtNum(el.dead_clicks)}</td>
                        <td class="num">{fmtNum(el.error_clicks)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
        </>
      ) : null}
    </div>
  );
}
