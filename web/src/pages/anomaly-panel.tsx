// The overview's anomalies panel, and the small pieces the insight pages
// share with it. This file ships in the main bundle (the overview is the
// first page); the insight pages themselves load lazily.

import { useState } from 'preact/hooks';
import { ApiError, get } from '../lib/api';
import { useAsync, useInterval } from '../lib/hooks';
import { fmtNum, fmtTime } from '../lib/format';
import { href } from '../lib/router';
import { useProject, useSession } from '../lib/session';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import {
  changeText,
  insightBase,
  setFindingStatus,
  type Anomaly,
  type Finding,
  type FindingStatus,
  type ReleaseRef,
  type Severity,
  type StatusFields,
} from './insight-api';

export function SeverityBadge({ severity }: { severity: Severity }) {
  const label = severity === 'high' ? 'High' : severity === 'medium' ? 'Medium' : 'Low';
  return (
    <span class={`badge sev-${severity}`} title={`Severity: ${label.toLowerCase()}`}>
      {label}
    </span>
  );
}

export function ReleaseBadge({ release, start }: { release: ReleaseRef; start?: string }) {
  const after = start ? Math.max(0, (Date.parse(start) - Date.parse(release.at)) / 60000) : undefined;
  return (
    <span class="badge accent" title={`Release ${release.version} shipped ${fmtTime(release.at)}`}>
      after release {release.version}
      {after !== undefined ? ` (+${after < 90 ? Math.round(after) + ' min' : (after / 60).toFixed(1) + ' h'})` : ''}
    </span>
  );
}

export const ongoing = (a: Anomaly) => !a.end;

const statusWords: Record<FindingStatus, string> = { open: 'Open', acknowledged: 'Acknowledged', dismissed: 'Dismissed' };

/**
 * An anomaly's status, and for members the buttons that change it:
 * acknowledge (someone is on it) or dismiss (nothing to do) an open one,
 * reopen the others. onChange runs once the server has it.
 */
export function StatusControls({ finding, label, onChange }: { finding: StatusFields & { id: string }; label: string; onChange: () => void }) {
  const p = useProject();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const set = async (status: FindingStatus) => {
    setBusy(true);
    try {
      await setFindingStatus(p.id, finding.id, status);
      session.toast(`${label}: ${statusWords[status].toLowerCase()}.`);
      onChange();
    } catch (e) {
      session.toast((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const button = (status: FindingStatus, text: string) => (
    <button type="button" class="small" disabled={busy} onClick={() => set(status)} aria-label={`${text}: ${label}`} data-action={status}>
      {text}
    </button>
  );
  return (
    <span class="status-controls" data-testid="status-controls" data-status={finding.status}>
      {finding.status !== 'open' ? (
        <span class={`badge status-${finding.status}`} title={finding.status_at ? `${statusWords[finding.status]} ${fmtTime(finding.status_at)}` : undefined}>
          {statusWords[finding.status]}
          {finding.status_by ? ` by ${finding.status_by}` : ''}
        </span>
      ) : null}
      {p.canEdit ? (
        <>
          {finding.status === 'open' ? button('acknowledged', 'Acknowledge') : null}
          {finding.status !== 'dismissed' ? button('dismissed', 'Dismiss') : null}
          {finding.status !== 'open' ? button('open', 'Reopen') : null}
        </>
      ) : null}
    </span>
  );
}

/** "22 vs 2.3 expected (+856%)" */
export function ObservedText({ a }: { a: Anomaly }) {
  return (
    <span>
      <strong class={a.direction === 'up' ? 'up' : 'down'}>{fmtNum(a.observed)}</strong> vs {fmtNum(a.expected)} expected{' '}
      <span class="muted">({changeText(a.observed, a.expected)})</span>
    </span>
  );
}

/** Ongoing anomalies first, unacknowledged before acknowledged, then the most recent. */
export function byOpenThenRecent(a: Finding, b: Finding): number {
  return (
    Number(ongoing(b.anomaly)) - Number(ongoing(a.anomaly)) ||
    Number(a.status === 'acknowledged') - Number(b.status === 'acknowledged') ||
    Date.parse(b.anomaly.start) - Date.parse(a.anomaly.start)
  );
}

export function AnomalyPanel() {
  const p = useProject();
  const res = useAsync((s) => get<{ anomalies: Finding[] }>(`${insightBase(p.id)}/anomalies`, s), [p.id]);
  useInterval(res.reload, 120_000);
  const all = [...(res.data?.anomalies ?? [])].sort(byOpenThenRecent);
  const open = all.filter((f) => ongoing(f.anomaly)).length;
  const disabled = res.error instanceof ApiError && res.error.status === 503;
  return (
    <div class="card" data-testid="anomaly-panel">
      <div class="card-head">
        <h2>
          Anomalies <span class="muted small">last 7 days</span>
          {open > 0 ? <span class="badge firing" style={{ marginLeft: '0.5rem' }}>{open} open</span> : null}
        </h2>
        <Link href={`/p/${p.id}/feed`}>Insight feed →</Link>
      </div>
      {res.loading && !res.data ? <Loading /> : null}
      {disabled ? <Empty title="Anomaly detection is not enabled on this server." /> : res.error ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {res.data && all.length === 0 ? (
        <Empty title="No anomalies in the last 7 days.">Sightline compares every metric with its usual level each hour and lists what leaves it here.</Empty>
      ) : null}
      {all.length > 0 ? (
        <ul class="anomaly-list">
          {all.slice(0, 5).map((f) => (
            <li key={f.id} data-finding-id={f.id}>
              <SeverityBadge severity={f.severity} />
              <span class="what">
                <Link href={href(`/p/${p.id}/feed`, { focus: f.id, days: 7 })}>
                  {f.anomaly.label} is {f.anomaly.direction === 'up' ? '↑ up' : '↓ down'}
                </Link>{' '}
                <span class="small">
                  <ObservedText a={f.anomaly} />
                </span>
              </span>
              {f.release ? <ReleaseBadge release={f.release} start={f.anomaly.start} /> : null}
              <span class="small muted nowrap">
                {ongoing(f.anomaly) ? <span class="badge firing">ongoing</span> : 'ended'} since {fmtTime(f.anomaly.start)}
              </span>
              <StatusControls finding={f} label={`${f.anomaly.label} is ${f.anomaly.direction}`} onChange={res.reload} />
            </li>
          ))}
        </ul>
      ) : null}
      {all.length > 5 ? (
        <p class="small muted" style={{ margin: '0.5rem 0 0' }}>
          and {all.length - 5} more in the <Link href={`/p/${p.id}/feed`}>insight feed</Link>.
        </p>
      ) : null}
    </div>
  );
}
