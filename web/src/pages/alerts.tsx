// Alerts: rules that watch a metric (an anomaly, a threshold, a change
// against the previous period) and notify by webhook or e-mail; their
// state, their history with every delivery, and a "send test" action.
// Viewers read; members and admins change.

import { useState } from 'preact/hooks';
import { ApiError, del, get, post, put } from '../lib/api';
import { useAsync } from '../lib/hooks';
import { fmtNum, fmtTime } from '../lib/format';
import { navigate, setParams, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { commonEvents, Suggest } from '../ui/controls';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import type { SavedObject } from './insights';
import { insightBase, seriesLabel, type Alert, type AlertEvent, type Channel, type Detect, type Rule } from './insight-api';

type Named = { id: number; name: string };

/** Saved insights and actions by id, for naming what a rule watches. */
function useNames(pid: number) {
  const ins = useAsync((s) => get<{ insights: SavedObject<unknown>[] }>(`/api/projects/${pid}/insights`, s), [pid]);
  const acts = useAsync((s) => get<{ actions: SavedObject<unknown>[] }>(`/api/projects/${pid}/actions`, s), [pid]);
  const pick = (xs: SavedObject<unknown>[] | undefined): Named[] => (xs ?? []).map((x) => ({ id: x.id, name: x.name }));
  return { insights: pick(ins.data?.insights), actions: pick(acts.data?.actions) };
}

const isRatio = (series?: string) => !!series && (series === 'error_rate' || series.startsWith('frustration:'));

function metricText(r: Rule, names: { insights: Named[]; actions: Named[] }): string {
  if (r.metric.insight) return `Saved insight “${names.insights.find((i) => i.id === r.metric.insight)?.name ?? '#' + r.metric.insight}”`;
  if (r.metric.action) return `Action “${names.actions.find((i) => i.id === r.metric.action)?.name ?? '#' + r.metric.action}”`;
  return seriesLabel(r.metric.series ?? '');
}

function valueText(r: Rule): string {
  const v = r.value ?? 0;
  return isRatio(r.metric.series) ? `${+(v * 100).toFixed(3)}%` : fmtNum(v);
}

export function conditionText(r: Rule): string {
  const period = r.period || (r.type === 'change' ? 'day' : 'hour');
  switch (r.type) {
    case 'anomaly': {
      const k = r.detect?.intervals ?? 2;
      const sens = sensitivityOf(r.detect);
      return `leaves its usual range for ${k} hour${k === 1 ? '' : 's'} in a row${sens !== 'default' ? ` (${sens} sensitivity)` : ''}`;
    }
    case 'threshold':
      return `is ${r.op} ${valueText(r)} over the last ${period}`;
    case 'change':
      return `${r.op === 'any' ? 'changes' : r.op + 's'} by ${fmtNum(r.value)}% or more against the previous ${period}`;
  }
  return r.type;
}

export function channelText(c: Channel): string {
  if (c.type === 'email') return `E-mail to ${(c.to ?? []).join(', ')}`;
  try {
    return `Webhook to ${new URL(c.url ?? '').host}`;
  } catch {
    return `Webhook to ${c.url}`;
  }
}

export function AlertStateBadge({ a }: { a: Alert }) {
  const st = a.state;
  switch (st.status) {
    case 'firing':
      return (
        <span class="badge firing" data-state="firing" title={st.firing.map((f) => seriesLabel(f.key)).join(', ')}>
          <span class="dot firing" />
          Firing{st.since ? ` since ${fmtTime(st.since)}` : ''}
          {st.firing.length > 1 ? ` (${st.firing.length} series)` : ''}
        </span>
      );
    case 'resolved':
      return (
        <span class="badge resolved" data-state="resolved">
          <span class="dot resolved" />
          Resolved{st.since ? ` ${fmtTime(st.since)}` : ''}
        </span>
      );
    case 'disabled':
      return (
        <span class="badge" data-state="disabled">
          Paused
        </span>
      );
  }
  return (
    <span class="badge" data-state="idle" title="This rule has not fired yet">
      <span class="dot" />
      Quiet
    </span>
  );
}

function KindBadge({ kind }: { kind: AlertEvent['kind'] }) {
  if (kind === 'firing') return <span class="badge firing">Fired</span>;
  if (kind === 'resolved') return <span class="badge resolved">Resolved</span>;
  return <span class="badge accent">Test</span>;
}

/** One history event with every delivery of it. */
function HistoryItem({ ev, showRule }: { ev: AlertEvent; showRule?: boolean }) {
  const p = useProject();
  return (
    <li data-testid="alert-event" data-kind={ev.kind}>
      <div class="row small">
        <KindBadge kind={ev.kind} />
        {showRule ? <Link href={`/p/${p.id}/alerts/${ev.rule_id}`}>{ev.rule_name}</Link> : null}
        <span class="muted">{fmtTime(ev.at)}</span>
        {ev.kind !== 'test' && ev.key ? <span class="muted mono">{ev.key}</span> : null}
        {ev.release ? <span class="badge accent">after release {ev.release}</span> : null}
      </div>
      <div>{ev.message}</div>
      {ev.deliveries.length > 0 ? (
        <div class="deliveries" aria-label="Deliveries">
          {ev.deliveries.map((d) => (
            <span key={d.id} data-testid="delivery" data-status={d.status}>
              <span class={'badge ' + (d.status === 'sent' ? 'good' : d.status === 'failed' ? 'sev-high' : '')}>{d.status}</span> {d.channel === 'email' ? '✉' : '↗'}{' '}
              <span class="mono">{d.target}</span>
              {d.attempts > 1 ? <span class="muted"> · {d.attempts} attempts</span> : null}
              {d.last_error ? <span class="field-error"> · {d.last_error}</span> : null}
              {d.status === 'pending' && d.next_at ? <span class="muted"> · next try {fmtTime(d.next_at)}</span> : null}
            </span>
          ))}
        </div>
      ) : (
        <div class="small muted">No channels: recorded only.</div>
      )}
    </li>
  );
}

export function AlertsPage() {
  useTitle('Alerts');
  const p = useProject();
  const session = useSession();
  const names = useNames(p.id);
  const [checking, setChecking] = useState(false);
  const list = useAsync((s) => get<{ alerts: Alert[] }>(`${insightBase(p.id)}/alerts`, s), [p.id]);
  const hist = useAsync((s) => get<{ events: AlertEvent[] }>(`${insightBase(p.id)}/alerts/history?limit=20`, s), [p.id]);
  const alerts = list.data?.alerts ?? [];
  const lastOf = (id: number) => hist.data?.events.find((e) => e.rule_id === id && e.kind !== 'test');
  const checkNow = async () => {
    setChecking(true);
    try {
      const res = await post<{ events: AlertEvent[] }>(`${insightBase(p.id)}/alerts/evaluate`);
      const fired = res.events.filter((e) => e.kind === 'firing').length;
      const resolved = res.events.length - fired;
      session.toast(res.events.length ? `Checked: ${fired} fired, ${resolved} resolved.` : 'Checked: no change.');
      list.reload();
      hist.reload();
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
          <h1>Alerts</h1>
          <p>Rules that watch a metric and tell the team by webhook (Slack-compatible) or e-mail when it breaks.</p>
        </div>
        {p.canEdit ? (
          <div class="row">
            {alerts.length > 0 ? (
              <button type="button" onClick={checkNow} disabled={checking} title="Evaluate every rule now instead of after the next completed hour">
                {checking ? 'Checking…' : 'Check now'}
              </button>
            ) : null}
            <Link class="button primary" href={`/p/${p.id}/alerts/new`}>
              + New alert
            </Link>
          </div>
        ) : (
          <span class="small muted" data-testid="read-only">
            You can read alerts; members and admins change them.
          </span>
        )}
      </div>
      <div class="card table-wrap">
        {list.loading && !list.data ? <Loading /> : null}
        {list.error ? <ErrorState error={list.error} retry={list.reload} /> : null}
        {list.data && alerts.length === 0 ? (
          <Empty title="No alerts yet.">
            {p.canEdit ? (
              <>
                <Link href={`/p/${p.id}/alerts/new`}>Create one</Link>: for example, a message in Slack when frustration on /checkout leaves its usual range.
              </>
            ) : (
              'Members and admins of this project can create them.'
            )}
          </Empty>
        ) : null}
        {alerts.length > 0 ? (
          <table data-testid="alert-list">
            <thead>
              <tr>
                <th>Alert</th>
                <th>When</th>
                <th>Notifies</th>
                <th>State</th>
                <th>Last event</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => {
                const last = lastOf(a.id);
                return (
                  <tr key={a.id} data-alert={a.name}>
                    <td>
                      <Link href={`/p/${p.id}/alerts/${a.id}`}>
                        <strong>{a.name}</strong>
                      </Link>
                      {a.description ? <div class="small muted">{a.description}</div> : null}
                    </td>
                    <td class="small">
                      {metricText(a.rule, names)} {conditionText(a.rule)}
                    </td>
                    <td class="small">{a.rule.channels.length ? a.rule.channels.map(channelText).join('; ') : <span class="muted">nobody (history only)</span>}</td>
                    <td>
                      <AlertStateBadge a={a} />
                    </td>
                    <td class="small nowrap">{last ? `${last.kind === 'firing' ? 'Fired' : 'Resolved'} ${fmtTime(last.at)}` : <span class="muted">–</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </div>
      <div class="card">
        <h2>Recent notifications</h2>
        {hist.loading && !hist.data ? <Loading /> : null}
        {hist.error ? <ErrorState error={hist.error} retry={hist.reload} /> : null}
        {hist.data && hist.data.events.length === 0 ? <Empty title="Nothing sent yet." /> : null}
        {hist.data && hist.data.events.length > 0 ? (
          <ul class="history">
            {hist.data.events.map((e) => (
              <HistoryItem key={e.id} ev={e} showRule />
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

export function NewAlertPage() {
  useTitle('New alert');
  const p = useProject();
  if (!p.canEdit)
    return (
      <div class="card">
        <Empty title="Viewers cannot create alerts.">Ask a member or an admin of this project.</Empty>
      </div>
    );
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>New alert</h1>
          <p>
            <Link href={`/p/${p.id}/alerts`}>← Alerts</Link>
          </p>
        </div>
      </div>
      <div class="card">
        <AlertEditor onSaved={(a) => navigate(`/p/${p.id}/alerts/${a.id}`)} onCancel={() => navigate(`/p/${p.id}/alerts`)} />
      </div>
    </div>
  );
}

export function AlertPage({ id }: { id: number }) {
  const p = useProject();
  const session = useSession();
  const loc = useLocation();
  const names = useNames(p.id);
  const alert = useAsync((s) => get<Alert>(`${insightBase(p.id)}/alerts/${id}`, s), [p.id, id]);
  const hist = useAsync((s) => get<{ events: AlertEvent[] }>(`${insightBase(p.id)}/alerts/${id}/history?limit=50`, s), [p.id, id]);
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<AlertEvent | Error | null>(null);
  const editing = loc.query.get('edit') === '1' && p.canEdit;
  const a = alert.data;
  useTitle(a ? a.name : 'Alert');

  const sendTest = async () => {
    setTesting(true);
    setTestResult(null);
    try {
      const ev = await post<AlertEvent>(`${insightBase(p.id)}/alerts/${id}/test`);
      setTestResult(ev);
      const sent = ev.deliveries.filter((d) => d.status === 'sent').length;
      session.toast(`Test sent to ${sent} of ${ev.deliveries.length} channel${ev.deliveries.length === 1 ? '' : 's'}.`);
      hist.reload();
    } catch (e) {
      setTestResult(e as Error);
    } finally {
      setTesting(false);
    }
  };
  const remove = async () => {
    if (!a || !confirm(`Delete the alert "${a.name}"? Its history goes with it.`)) return;
    try {
      await del(`${insightBase(p.id)}/alerts/${id}`);
      session.toast(`Deleted "${a.name}".`);
      navigate(`/p/${p.id}/alerts`);
    } catch (e) {
      session.toast((e as Error).message);
    }
  };

  if (alert.loading && !a) return <Loading />;
  if (alert.error) return <ErrorState error={alert.error} retry={alert.reload} />;
  if (!a) return <Loading />;
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>
            {a.name} <AlertStateBadge a={a} />
          </h1>
          <p>
            <Link href={`/p/${p.id}/alerts`}>← Alerts</Link>
            {a.description ? ` · ${a.description}` : ''}
          </p>
        </div>
        {p.canEdit && !editing ? (
          <div class="row">
            <button type="button" onClick={sendTest} disabled={testing || a.rule.channels.length === 0} title={a.rule.channels.length ? 'Send a test notification to every channel now' : 'Add a channel first'}>
              {testing ? 'Sending…' : 'Send test'}
            </button>
            <button type="button" onClick={() => setParams({ edit: 1 }, false)}>
              Edit
            </button>
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
      {testResult instanceof Error ? <ErrorState error={testResult} /> : null}
      {testResult && !(testResult instanceof Error) ? (
        <div class="card" role="status" data-testid="test-result">
          <div class="card-head">
            <h2>Test just sent</h2>
            <button type="button" class="small" onClick={() => setTestResult(null)}>
              Dismiss
            </button>
          </div>
          <ul class="history">
            <HistoryItem ev={testResult} />
          </ul>
        </div>
      ) : null}
      {editing ? (
        <div class="card">
          <AlertEditor
            initial={a}
            onSaved={() => {
              session.toast('Alert saved.');
              alert.reload();
              setParams({ edit: null });
            }}
            onCancel={() => setParams({ edit: null })}
          />
        </div>
      ) : (
        <div class="grid cols-2">
          <div class="card">
            <h2>Rule</h2>
            <dl class="facts" data-testid="alert-rule">
              <dt>Watches</dt>
              <dd>{metricText(a.rule, names)}</dd>
              <dt>Fires when it</dt>
              <dd>{conditionText(a.rule)}</dd>
              <dt>Notifies</dt>
              <dd>
                {a.rule.channels.length === 0 ? <span class="muted">nobody (history only)</span> : null}
                {a.rule.channels.map((c, i) => (
                  <div key={i}>{c.type === 'webhook' ? `Webhook ${c.url}` : channelText(c)}</div>
                ))}
              </dd>
              <dt>Checked</dt>
              <dd>{a.state.evaluated_at ? `last ${fmtTime(a.state.evaluated_at)}` : 'after every completed hour'}</dd>
              <dt>Updated</dt>
              <dd>{fmtTime(a.updated_at)}</dd>
            </dl>
          </div>
          <div class="card">
            <h2>Now</h2>
            {a.state.firing.length === 0 ? (
              <Empty title={a.state.status === 'disabled' ? 'Paused: not evaluated.' : 'Nothing is firing.'} />
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Firing series</th>
                    <th>Since</th>
                    <th class="num">Last value</th>
                  </tr>
                </thead>
                <tbody>
                  {a.state.firing.map((f) => (
                    <tr key={f.key}>
                      <td>{seriesLabel(f.key)}</td>
                      <td class="nowrap">{fmtTime(f.since)}</td>
                      <td class="num">{fmtNum(f.value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      )}
      <div class="card">
        <h2>History and deliveries</h2>
        {hist.loading && !hist.data ? <Loading /> : null}
        {hist.error ? <ErrorState error={hist.error} retry={hist.reload} /> : null}
        {hist.data && hist.data.events.length === 0 ? <Empty title="This alert has not sent anything yet." /> : null}
        {hist.data && hist.data.events.length > 0 ? (
          <ul class="history" data-testid="alert-history">
            {hist.data.events.map((e) => (
              <HistoryItem key={e.id} ev={e} />
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

// ---- the editor ----

type MetricKind = 'sessions' | 'error_rate' | 'event' | 'page' | 'all' | 'insight' | 'action' | 'custom';
type Sensitivity = 'sensitive' | 'default' | 'conservative' | 'custom';

interface ChannelDraft {
  type: 'webhook' | 'email';
  url: string;
  to: string;
}

interface Form {
  name: string;
  description: string;
  type: Rule['type'];
  metric: MetricKind;
  event: string;
  page: string;
  insight: string;
  action: string;
  custom: string;
  op: string;
  value: string;
  period: string;
  sensitivity: Sensitivity;
  intervals: string;
  detect: Detect;
  channels: ChannelDraft[];
  enabled: boolean;
}

const presets: Record<Exclude<Sensitivity, 'custom'>, Detect> = {
  sensitive: { threshold: 2.5, count_threshold: 3.5 },
  default: {},
  conservative: { threshold: 5, count_threshold: 7 },
};

function sensitivityOf(d?: Detect): Sensitivity {
  const { intervals: _k, ...rest } = d ?? {};
  for (const [name, p] of Object.entries(presets)) {
    if (JSON.stringify(rest) === JSON.stringify(p)) return name as Sensitivity;
  }
  return 'custom';
}

function formOf(a?: Alert): Form {
  const f: Form = {
    name: a?.name ?? '',
    description: a?.description ?? '',
    type: a?.rule.type ?? 'anomaly',
    metric: 'error_rate',
    event: '',
    page: '',
    insight: '',
    action: '',
    custom: '',
    op: a?.rule.op ?? '',
    value: '',
    period: a?.rule.period ?? '',
    sensitivity: sensitivityOf(a?.rule.detect),
    intervals: String(a?.rule.detect?.intervals ?? 2),
    detect: a?.rule.detect ?? {},
    channels: (a?.rule.channels ?? [{ type: 'webhook' as const }]).map((c) => ({ type: c.type, url: c.url ?? '', to: (c.to ?? []).join(', ') })),
    enabled: !a?.rule.disabled,
  };
  if (!a) return f;
  const m = a.rule.metric;
  const s = m.series ?? '';
  if (m.insight) [f.metric, f.insight] = ['insight', String(m.insight)];
  else if (m.action) [f.metric, f.action] = ['action', String(m.action)];
  else if (s === 'sessions' || s === 'error_rate') f.metric = s;
  else if (s === '*') f.metric = 'all';
  else if (s.startsWith('event:')) [f.metric, f.event] = ['event', s.slice(6)];
  else if (s.startsWith('frustration:page:')) [f.metric, f.page] = ['page', s.slice(17)];
  else [f.metric, f.custom] = ['custom', s];
  if (a.rule.value !== undefined) f.value = isRatio(s) && a.rule.type === 'threshold' ? String(+(a.rule.value * 100).toFixed(6)) : String(a.rule.value);
  return f;
}

function ruleOf(f: Form): Rule {
  const metric: Rule['metric'] = {};
  switch (f.metric) {
    case 'sessions':
    case 'error_rate':
      metric.series = f.metric;
      break;
    case 'all':
      metric.series = '*';
      break;
    case 'event':
      metric.series = 'event:' + f.event.trim();
      break;
    case 'page':
      metric.series = 'frustration:page:' + f.page.trim();
      break;
    case 'insight':
      metric.insight = Number(f.insight);
      break;
    case 'action':
      metric.action = Number(f.action);
      break;
    case 'custom':
      metric.series = f.custom.trim();
  }
  const rule: Rule = { type: f.type, metric, channels: [] };
  if (f.type === 'anomaly') {
    const base = f.sensitivity === 'custom' ? { ...f.detect } : { ...presets[f.sensitivity] };
    delete base.intervals;
    const k = Number(f.intervals);
    rule.detect = k && k !== 2 ? { ...base, intervals: k } : base;
  } else {
    rule.op = f.op || (f.type === 'threshold' ? 'above' : 'any');
    const v = Number(f.value);
    rule.value = f.type === 'threshold' && isRatio(metric.series) ? v / 100 : v;
    if (f.period) rule.period = f.period;
  }
  rule.channels = f.channels.map((c) =>
    c.type === 'webhook'
      ? { type: 'webhook', url: c.url.trim() }
      : {
          type: 'email',
          to: c.to
            .split(/[\s,;]+/)
            .map((x) => x.trim())
            .filter(Boolean),
        },
  );
  if (!f.enabled) rule.disabled = true;
  return rule;
}

export function AlertEditor({ initial, onSaved, onCancel }: { initial?: Alert; onSaved: (a: Alert) => void; onCancel: () => void }) {
  const p = useProject();
  const names = useNames(p.id);
  const [f, setF] = useState<Form>(() => formOf(initial));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((x) => ({ ...x, [k]: v }));
  const on = (k: keyof Form) => (e: Event) => set(k, (e.target as HTMLInputElement).value as never);
  const setChannel = (i: number, c: Partial<ChannelDraft>) => set('channels', f.channels.map((x, j) => (j === i ? { ...x, ...c } : x)));
  const ratio = f.metric === 'error_rate' || f.metric === 'page' || (f.metric === 'custom' && f.custom.startsWith('frustration:'));

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name: f.name.trim(), description: f.description.trim(), rule: ruleOf(f) };
    try {
      const a = initial ? await put<Alert>(`${insightBase(p.id)}/alerts/${initial.id}`, body) : await post<Alert>(`${insightBase(p.id)}/alerts`, body);
      onSaved(a);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form wide" onSubmit={save} aria-label={initial ? 'Edit alert' : 'New alert'}>
      <label>
        Name
        <input name="alert-name" required maxLength={200} value={f.name} onInput={on('name')} placeholder="Checkout frustration" />
      </label>
      <label>
        Description <span class="help">optional: what to do when it fires</span>
        <input name="alert-description" value={f.description} onInput={on('description')} />
      </label>
      <fieldset>
        <legend>Watch</legend>
        <div class="stack">
          <label>
            Metric
            <select name="alert-metric" value={f.metric} onChange={on('metric')}>
              <option value="page">Frustrated sessions on a page</option>
              <option value="error_rate">Sessions with a JavaScript error</option>
              <option value="sessions">Sessions</option>
              <option value="event">Count of an event</option>
              <option value="insight">A saved insight</option>
              <option value="action">A saved action</option>
              {f.type === 'anomaly' ? <option value="all">Every monitored metric</option> : null}
              {f.metric === 'custom' ? <option value="custom">Series key</option> : null}
            </select>
          </label>
          {f.metric === 'page' ? (
            <label>
              Page path <span class="help">a path, or a template such as /product/*</span>
              <input name="alert-page" required value={f.page} onInput={on('page')} />
            </label>
          ) : null}
          {f.metric === 'event' ? (
            <label>
              Event
              <Suggest id="alert-event" label="Event" value={f.event} options={commonEvents} required onInput={(v) => set('event', v)} />
            </label>
          ) : null}
          {f.metric === 'insight' ? (
            <label>
              Saved insight
              <select required value={f.insight} onChange={on('insight')}>
                <option value="">Choose…</option>
                {names.insights.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {f.metric === 'action' ? (
            <label>
              Action
              <select required value={f.action} onChange={on('action')}>
                <option value="">Choose…</option>
                {names.actions.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {f.metric === 'custom' ? (
            <label>
              Series key
              <input required value={f.custom} onInput={on('custom')} class="mono" />
            </label>
          ) : null}
        </div>
      </fieldset>
      <fieldset>
        <legend>Fire when</legend>
        <div class="stack">
          <div class="segmented" role="radiogroup" aria-label="Kind of rule">
            {(
              [
                ['anomaly', 'It leaves its usual range'],
                ['threshold', 'It crosses a value'],
                ['change', 'It changes against the previous period'],
              ] as const
            ).map(([t, l]) => (
              <label key={t}>
                <input
                  type="radio"
                  name="alert-type"
                  value={t}
                  checked={f.type === t}
                  onChange={() => setF((x) => ({ ...x, type: t, op: '', metric: t !== 'anomaly' && x.metric === 'all' ? 'sessions' : x.metric }))}
                />
                {l}
              </label>
            ))}
          </div>
          {f.type === 'anomaly' ? (
            <div class="row">
              <label>
                Sensitivity
                <select name="alert-sensitivity" value={f.sensitivity} onChange={on('sensitivity')}>
                  <option value="sensitive">Sensitive: smaller deviations</option>
                  <option value="default">Balanced (default)</option>
                  <option value="conservative">Conservative: only large deviations</option>
                  {f.sensitivity === 'custom' ? <option value="custom">Custom (set through the API)</option> : null}
                </select>
              </label>
              <label>
                For
                <select name="alert-intervals" value={f.intervals} onChange={on('intervals')}>
                  {[1, 2, 3, 4, 6].map((k) => (
                    <option key={k} value={k}>
                      {k} hour{k === 1 ? '' : 's'} in a row
                    </option>
                  ))}
                </select>
              </label>
            </div>
          ) : (
            <div class="row">
              <label>
                {f.type === 'threshold' ? 'Is' : 'Direction'}
                <select name="alert-op" value={f.op || (f.type === 'threshold' ? 'above' : 'any')} onChange={on('op')}>
                  {f.type === 'threshold' ? (
                    <>
                      <option value="above">above</option>
                      <option value="below">below</option>
                    </>
                  ) : (
                    <>
                      <option value="any">up or down</option>
                      <option value="increase">up</option>
                      <option value="decrease">down</option>
                    </>
                  )}
                </select>
              </label>
              <label>
                {f.type === 'threshold' ? (ratio ? 'Value (%)' : 'Value') : 'By at least (%)'}
                <input name="alert-value" type="number" step="any" min={f.type === 'change' ? '0.01' : undefined} required value={f.value} onInput={on('value')} style={{ width: '8rem' }} />
              </label>
              <label>
                Over the last
                <select name="alert-period" value={f.period || (f.type === 'change' ? 'day' : 'hour')} onChange={on('period')}>
                  <option value="hour">hour</option>
                  <option value="day">day</option>
                </select>
              </label>
            </div>
          )}
          <p class="small muted" style={{ margin: 0 }}>
            {f.type === 'anomaly'
              ? 'Sightline learns the usual level of every hour of the week from the last 28 days and fires when the metric stays outside it.'
              : 'Evaluated after every completed hour; a rule that keeps firing notifies once, and again when it resolves.'}
          </p>
        </div>
      </fieldset>
      <fieldset>
        <legend>Notify</legend>
        <div class="stack">
          {f.channels.length === 0 ? <p class="small muted" style={{ margin: 0 }}>No channels: events are only recorded in the history.</p> : null}
          {f.channels.map((c, i) => (
            <div class="channel-row" key={i} data-testid="channel">
              <label>
                Channel
                <select name={`channel-type-${i}`} value={c.type} onChange={(e) => setChannel(i, { type: (e.target as HTMLSelectElement).value as ChannelDraft['type'] })}>
                  <option value="webhook">Webhook</option>
                  <option value="email">E-mail</option>
                </select>
              </label>
              {c.type === 'webhook' ? (
                <label>
                  URL <span class="help">Slack, Mattermost, Teams or any JSON receiver</span>
                  <input name={`channel-url-${i}`} type="url" required placeholder="https://hooks.slack.com/services/…" value={c.url} onInput={(e) => setChannel(i, { url: (e.target as HTMLInputElement).value })} />
                </label>
              ) : (
                <label>
                  Recipients <span class="help">separated by commas</span>
                  <input name={`channel-to-${i}`} required placeholder="oncall@example.com" value={c.to} onInput={(e) => setChannel(i, { to: (e.target as HTMLInputElement).value })} />
                </label>
              )}
              <button type="button" class="small danger" aria-label={`Remove channel ${i + 1}`} onClick={() => set('channels', f.channels.filter((_, j) => j !== i))}>
                Remove
              </button>
            </div>
          ))}
          <div class="row">
            <button type="button" class="small" onClick={() => set('channels', [...f.channels, { type: 'webhook', url: '', to: '' }])}>
              + Webhook
            </button>
            <button type="button" class="small" onClick={() => set('channels', [...f.channels, { type: 'email', url: '', to: '' }])}>
              + E-mail
            </button>
          </div>
        </div>
      </fieldset>
      <label class="inline">
        <input type="checkbox" name="alert-enabled" checked={f.enabled} onChange={(e) => set('enabled', (e.target as HTMLInputElement).checked)} /> Enabled
      </label>
      {error ? (
        <div class="field-error" role="alert">
          {error.message}
        </div>
      ) : null}
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : initial ? 'Save alert' : 'Create alert'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
