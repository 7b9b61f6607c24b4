// Editors for actions (named, retroactive event definitions) and segments
// (behavioral groups of persons).

import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, post, put } from '../lib/api';
import { useAsync, useDebounced } from '../lib/hooks';
import { fmtDate, fmtNum, pathOf } from '../lib/format';
import type { ActionDef, ActionStep, TrendsResult } from '../lib/query';
import { runQuery } from '../lib/query';
import { href, navigate, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { TimeChart } from '../ui/chart';
import { commonEvents, Suggest } from '../ui/controls';
import { Link } from '../ui/link';
import { Sparkline } from '../ui/sparkline';
import { Empty, ErrorState, Loading, Progress } from '../ui/states';
import type { SavedObject } from './insights';
import { findPageSnapshot, HeatStage } from './heatmaps';

interface SegCondition {
  type: 'performed' | 'not_performed' | 'first_seen' | 'person' | 'group';
  event?: string;
  action?: number;
  count_op?: string;
  count?: number;
  within_days?: number;
  prop?: string;
  op?: string;
  value?: unknown;
  match?: 'all' | 'any';
  conditions?: SegCondition[];
}

interface SegmentDef {
  match: 'all' | 'any';
  conditions: SegCondition[];
}

function DefinitionList<D>({ kind, title, blurb, describe }: { kind: 'actions' | 'segments'; title: string; blurb: string; describe: (d: D) => string }) {
  useTitle(title);
  const p = useProject();
  const list = useAsync((s) => get<Record<string, SavedObject<D>[]>>(`/api/projects/${p.id}/${kind}`, s), [p.id, kind]);
  const items = list.data?.[kind] ?? [];
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>{title}</h1>
          <p>{blurb}</p>
        </div>
        {p.canEdit ? (
          <Link class="button primary" href={`/p/${p.id}/${kind}/new`}>
            + New {kind === 'actions' ? 'action' : 'segment'}
          </Link>
        ) : null}
      </div>
      <div class="card table-wrap">
        {list.loading && !list.data ? <Loading /> : null}
        {list.error ? <ErrorState error={list.error} retry={list.reload} /> : null}
        {list.data && items.length === 0 ? <Empty title={`No ${kind} yet.`} /> : null}
        {items.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Definition</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((o) => (
                <tr key={o.id}>
                  <td>
                    <Link href={`/p/${p.id}/${kind}/${o.id}`}>{o.name}</Link>
                    {o.description ? <div class="small muted">{o.description}</div> : null}
                  </td>
                  <td class="small">{describe(o.definition)}</td>
                  <td class="nowrap">{fmtDate(o.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}

function describeStep(s: ActionStep): string {
  const parts = [s.event || 'any event'];
  if (s.selector) parts.push(`on ${s.selector}`);
  if (s.text) parts.push(`text ${s.text_match ?? 'exact'} "${s.text}"`);
  if (s.href) parts.push(`link ${s.href}`);
  if (s.url) parts.push(`page ${s.url}`);
  return parts.join(' ');
}

export function ActionList() {
  return (
    <DefinitionList<ActionDef>
      kind="actions"
      title="Actions"
      blurb="Name autocaptured clicks and pageviews after the fact; an action applies to all history the moment it is saved."
      describe={(d) => (d.steps ?? []).map(describeStep).join(' or ')}
    />
  );
}

export function SegmentList() {
  return (
    <DefinitionList<SegmentDef>
      kind="segments"
      title="Segments"
      blurb="Groups of persons by what they did: use them as filters and breakdowns in any insight."
      describe={(d) => `${(d.conditions ?? []).length} condition(s), match ${d.match ?? 'all'}`}
    />
  );
}

/** Load, edit and save one definition; shared by both editors. */
function useDefinition<D>(kind: 'actions' | 'segments', id: string, empty: D) {
  const p = useProject();
  const sess = useSession();
  const isNew = id === 'new';
  const obj = useAsync((s) => (isNew ? Promise.resolve(null) : get<SavedObject<D>>(`/api/projects/${p.id}/${kind}/${id}`, s)), [p.id, kind, id]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [def, setDef] = useState<D>(empty);
  const [error, setError] = useState<{ msg: string; field?: string } | null>(null);
  // Whether def is the stored one (or a new one's): until then def is the
  // placeholder, which nothing should be computed from.
  const [loaded, setLoaded] = useState(isNew);
  useEffect(() => setLoaded(isNew), [id]);
  useEffect(() => {
    if (obj.data) {
      setName(obj.data.name);
      setDescription(obj.data.description);
      setDef(obj.data.definition);
      setLoaded(true);
    }
  }, [obj.data]);
  const save = async () => {
    setError(null);
    try {
      const body = { name, description, definition: def };
      const saved = isNew ? await post<SavedObject<D>>(`/api/projects/${p.id}/${kind}`, body) : await put<SavedObject<D>>(`/api/projects/${p.id}/${kind}/${id}`, body);
      sess.toast('Saved');
      if (isNew) navigate(`/p/${p.id}/${kind}/${saved.id}`, true);
      else obj.reload();
    } catch (e) {
      setError({ msg: e instanceof ApiError ? e.message : 'Could not save.', field: e instanceof ApiError ? e.field : undefined });
    }
  };
  const remove = async () => {
    if (!confirm(`Delete "${name}"? Insights using it will stop working.`)) return;
    await del(`/api/projects/${p.id}/${kind}/${id}`);
    navigate(`/p/${p.id}/${kind}`);
  };
  return { p, isNew, obj, loaded, name, setName, description, setDescription, def, setDef, error, save, remove };
}

function EditorShell({
  kind,
  ed,
  children,
}: {
  kind: 'actions' | 'segments';
  ed: ReturnType<typeof useDefinition<unknown>>;
  children: preact.ComponentChildren;
}) {
  const ro = !ed.p.canEdit;
  if (!ed.isNew && ed.obj.loading && !ed.obj.data) return <Loading />;
  if (ed.obj.error) return <ErrorState error={ed.obj.error} retry={ed.obj.reload} />;
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        ed.save();
      }}
    >
      <div class="page-head">
        <div>
          <h1>{ed.isNew ? `New ${kind === 'actions' ? 'action' : 'segment'}` : ed.name}</h1>
          <p>
            <Link href={`/p/${ed.p.id}/${kind}`}>← All {kind}</Link>
          </p>
        </div>
        {ro ? null : (
          <div class="row">
            {!ed.isNew ? (
              <button type="button" class="danger" onClick={ed.remove}>
                Delete
              </button>
            ) : null}
            <button type="submit" class="primary">
              Save
            </button>
          </div>
        )}
      </div>
      <fieldset class="card stack" disabled={ro}>
        <label>
          Name
          <input required maxLength={200} value={ed.name} onInput={(e) => ed.setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Description
          <input value={ed.description} onInput={(e) => ed.setDescription((e.target as HTMLInputElement).value)} />
        </label>
        {children}
        {ed.error ? (
          <div class="field-error" role="alert">
            {ed.error.msg}
            {ed.error.field ? <> (at {ed.error.field})</> : null}
          </div>
        ) : null}
      </fieldset>
    </form>
  );
}

const matchModes = (kind: 'text' | 'href' | 'url') =>
  kind === 'url'
    ? [
        ['contains', 'contains'],
        ['exact', 'is'],
        ['pattern', 'matches pattern (*)'],
        ['regex', 'matches regex'],
      ]
    : [
        ['exact', 'is'],
        ['contains', 'contains'],
        ['regex', 'matches regex'],
      ];

/**
 * A step for an element picked elsewhere (the heatmap's element picker or
 * ranking links here with ?selector=&url=): clicks on that element, on
 * that page (a pattern when the heatmap showed one).
 */
function pickedStep(selector: string, url: string): ActionStep {
  const step: ActionStep = { event: '$click', selector };
  if (url) {
    step.url = url;
    step.url_match = url.includes('*') ? 'pattern' : 'exact';
  }
  return step;
}

export function ActionEditor({ id }: { id: string }) {
  const loc = useLocation();
  const pickedSelector = id === 'new' ? (loc.query.get('selector') ?? '') : '';
  const ed = useDefinition<ActionDef>('actions', id, { steps: [pickedSelector ? pickedStep(pickedSelector, loc.query.get('url') ?? '') : { event: '$click' }] });
  useEffect(() => {
    if (pickedSelector && !ed.name) ed.setName(`Click on ${pickedSelector.split(' > ').pop()}`);
  }, [pickedSelector]);
  const [picking, setPicking] = useState<number | null>(null);
  const steps = ed.def.steps ?? [];
  const upd = (i: number, s: Partial<ActionStep>) => {
    const next = steps.map((x, j) => (j === i ? { ...x, ...s } : x));
    for (const k of Object.keys(next[i]!) as (keyof ActionStep)[]) if (next[i]![k] === '' || next[i]![k] === undefined) delete next[i]![k];
    ed.setDef({ steps: next });
  };
  return (
    <div class="stack">
      <EditorShell kind="actions" ed={ed as never}>
        <p class="muted small">An event matches the action when it matches any of these steps; each step is an AND of its conditions.</p>
        {steps.map((s, i) => (
          <fieldset key={i} class="stack">
            <legend>
              Step {i + 1}
              {i > 0 ? ' (or)' : ''}
            </legend>
            <div class="row">
              <label>
                Event
                <Suggest id={`act-ev-${i}`} label="Event" value={s.event ?? ''} placeholder="any event" options={commonEvents} onInput={(v) => upd(i, { event: v })} />
              </label>
              <label class="grow">
                Element selector
                <input
                  aria-label={`Element selector of step ${i + 1}`}
                  placeholder="button.checkout"
                  value={s.selector ?? ''}
                  onInput={(e) => upd(i, { selector: (e.target as HTMLInputElement).value })}
                />
              </label>
              {ed.p.canEdit ? (
                <button type="button" class="small" style={{ alignSelf: 'flex-end' }} onClick={() => setPicking(picking === i ? null : i)} aria-pressed={picking === i}>
                  {picking === i ? 'Stop picking' : 'Pick on a page…'}
                </button>
              ) : null}
            </div>
            <div class="row">
              {(['text', 'href', 'url'] as const).map((k) => (
                <label key={k}>
                  {k === 'text' ? 'Element text' : k === 'href' ? 'Link target' : 'Page URL'}
                  <span class="row" style={{ gap: '0.3rem' }}>
                    <select aria-label={`${k} match`} value={s[`${k}_match`] ?? (k === 'url' ? 'contains' : 'exact')} onChange={(e) => upd(i, { [`${k}_match`]: (e.target as HTMLSelectElement).value })}>
                      {matchModes(k).map(([v, l]) => (
                        <option key={v} value={v}>
                          {l}
                        </option>
                      ))}
                    </select>
                    <input
                      aria-label={`${k === 'text' ? 'Element text' : k === 'href' ? 'Link target' : 'Page URL'} of step ${i + 1}`}
                      value={s[k] ?? ''}
                      onInput={(e) => upd(i, { [k]: (e.target as HTMLInputElement).value })}
                    />
                  </span>
                </label>
              ))}
            </div>
            {steps.length > 1 ? (
              <div>
                <button type="button" class="small" onClick={() => ed.setDef({ steps: steps.filter((_, j) => j !== i) })}>
                  Remove step
                </button>
              </div>
            ) : null}
            {picking === i ? (
              <ElementPicker
                onPick={(sel, url) => {
                  const st = pickedStep(sel, url);
                  upd(i, { selector: st.selector, url: st.url, url_match: st.url_match, event: s.event || '$click' });
                  setPicking(null);
                }}
              />
            ) : null}
          </fieldset>
        ))}
        <div>
          <button type="button" class="small" onClick={() => ed.setDef({ steps: [...steps, { event: '$click' }] })}>
            + Add step (or)
          </button>
        </div>
      </EditorShell>
      {ed.loaded ? <MatchPreview def={ed.def} saved={!ed.isNew && JSON.stringify(ed.def) === JSON.stringify(ed.obj.data?.definition) ? Number(id) : undefined} /> : null}
    </div>
  );
}

/** Where in the definition an engine error applies, in words ("step 2, url match"). */
function fieldText(field?: string): string {
  const f = (field ?? '').replace(/^series\[0\]\.action_def\.?/, '');
  const m = /^steps\[(\d+)\]\.?(.*)$/.exec(f);
  if (m) return `Step ${Number(m[1]) + 1}${m[2] ? ', ' + m[2].replace(/_/g, ' ').replace(/\./g, ' ') : ''}`;
  return f ? f.replace(/_/g, ' ') : 'The definition';
}

/**
 * What the definition being edited matches over the last 30 days, past
 * events included, before it is saved: the engine takes the definition
 * inline (action_def), so the count and the sparkline follow every edit.
 * An invalid definition shows the engine's message and where it applies.
 */
function MatchPreview({ def, saved }: { def: ActionDef; saved?: number }) {
  const p = useProject();
  const want = JSON.stringify({ steps: def.steps ?? [] });
  const sent = useDebounced(want, 350);
  const res = useAsync(
    (s) => runQuery<TrendsResult>(p.id, { kind: 'trends', date_from: '-30d', date_to: 'today', interval: 'day', series: [{ action_def: JSON.parse(sent) as ActionDef, math: 'events' }] }, s),
    [p.id, sent],
  );
  const first = res.data?.series[0];
  const total = first ? (first.total ?? first.points.reduce((n, pt) => n + pt.v, 0)) : 0;
  const pending = res.loading || sent !== want;
  const err = res.error instanceof ApiError ? res.error : undefined;
  const insight = saved ? href(`/p/${p.id}/insights/new`, { q: JSON.stringify({ kind: 'trends', series: [{ action: saved, math: 'events' }], interval: 'day' }), from: '-30d' }) : '';
  return (
    <div class="card" data-testid="action-preview" aria-busy={pending} data-pending={pending ? 'true' : 'false'} data-def={sent}>
      <div class="card-head">
        <h2>{saved ? 'Matches in the last 30 days' : 'Matches in the last 30 days, live'}</h2>
        {insight ? <Link href={insight}>Open as an insight</Link> : <span class="small muted">Updates as you edit; nothing is saved.</span>}
      </div>
      <Progress active={pending && !!res.data} />
      {res.loading && !res.data && !res.error ? <Loading label="Counting matches…" /> : null}
      {res.error && !err ? <ErrorState error={res.error} retry={res.reload} /> : null}
      {err ? (
        <div class="field-error" role="alert" data-testid="action-preview-error">
          {fieldText(err.field)}: {err.message}
        </div>
      ) : null}
      {first && !res.error ? (
        <>
          <p>
            <strong data-testid="action-matches" data-count={total}>
              {fmtNum(total)}
            </strong>{' '}
            matching events, past ones included: an action applies to everything already stored the moment it is saved.
          </p>
          <Sparkline
            label={`Matching events per day over the last 30 days: ${fmtNum(total)} in all`}
            height={56}
            points={first.points.map((pt) => ({ t: Date.parse(pt.t), v: pt.v }))}
          />
        </>
      ) : null}
    </div>
  );
}

/** Rebuilds a recorded page and lets the user click the element an action should match. */
function ElementPicker({ onPick }: { onPick: (selector: string, url: string) => void }) {
  const p = useProject();
  const [url, setUrl] = useState('/');
  const [target, setTarget] = useState('');
  const snap = useAsync((s) => (target ? findPageSnapshot(p.id, target, '', '-30d', 'today', s) : Promise.resolve(null)), [p.id, target]);
  return (
    <div class="stack">
      <div class="row">
        <label class="grow">
          Page to pick on
          <input value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} placeholder="/cart or /product/*" />
        </label>
        <button type="button" onClick={() => setTarget(url)} style={{ alignSelf: 'flex-end' }}>
          Load page
        </button>
      </div>
      {snap.loading && target ? <Loading label="Rebuilding the page from a recording…" /> : null}
      {snap.error ? <ErrorState error={snap.error} /> : null}
      {target && !snap.loading && !snap.data ? <Empty title="No recording of that page in the last 30 days." /> : null}
      {snap.data ? (
        <HeatStage snap={snap.data} heat={null} layer="clicks" hover={null} onPick={(sel) => onPick(sel, target.startsWith('/') ? target : pathOf(target))} />
      ) : null}
    </div>
  );
}

const condTypes: [SegCondition['type'], string][] = [
  ['performed', 'Performed'],
  ['not_performed', 'Did not perform'],
  ['first_seen', 'First seen'],
  ['person', 'Person property'],
  ['group', 'Group of conditions'],
];

function ConditionEditor({ c, set, remove, depth }: { c: SegCondition; set: (c: SegCondition) => void; remove: () => void; depth: number }) {
  return (
    <div class="row" style={{ alignItems: 'flex-end', paddingLeft: `${depth}rem` }}>
      <label>
        Condition
        <select value={c.type} onChange={(e) => set(newCondition((e.target as HTMLSelectElement).value as SegCondition['type']))}>
          {condTypes.filter(([t]) => depth < 2 || t !== 'group').map(([t, l]) => (
            <option key={t} value={t}>
              {l}
            </option>
          ))}
        </select>
      </label>
      {c.type === 'performed' || c.type === 'not_performed' ? (
        <>
          <label>
            Event
            <Suggest id={`seg-ev-${depth}`} label="Event" value={c.event ?? ''} options={commonEvents} onInput={(v) => set({ ...c, event: v })} />
          </label>
          {c.type === 'performed' ? (
            <>
              <label>
                How often
                <select value={c.count_op ?? 'at_least'} onChange={(e) => set({ ...c, count_op: (e.target as HTMLSelectElement).value })}>
                  <option value="at_least">at least</option>
                  <option value="at_most">at most</option>
                  <option value="exactly">exactly</option>
                </select>
              </label>
              <label>
                Times
                <input type="number" min={0} value={c.count ?? 1} onInput={(e) => set({ ...c, count: Number((e.target as HTMLInputElement).value) })} />
              </label>
            </>
          ) : null}
        </>
      ) : null}
      {c.type !== 'person' && c.type !== 'group' ? (
        <label>
          In the last (days)
          <input type="number" min={1} placeholder="ever" value={c.within_days ?? ''} onInput={(e) => set({ ...c, within_days: Number((e.target as HTMLInputElement).value) || undefined })} />
        </label>
      ) : null}
      {c.type === 'person' ? (
        <>
          <label>
            Property
            <input value={c.prop ?? ''} placeholder="plan" onInput={(e) => set({ ...c, prop: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Operator
            <select value={c.op ?? 'eq'} onChange={(e) => set({ ...c, op: (e.target as HTMLSelectElement).value })}>
              <option value="eq">is</option>
              <option value="neq">is not</option>
              <option value="contains">contains</option>
              <option value="is_set">is set</option>
              <option value="is_not_set">is not set</option>
            </select>
          </label>
          {c.op !== 'is_set' && c.op !== 'is_not_set' ? (
            <label>
              Value
              <input value={String(c.value ?? '')} onInput={(e) => set({ ...c, value: (e.target as HTMLInputElement).value })} />
            </label>
          ) : null}
        </>
      ) : null}
      <button type="button" class="small" onClick={remove} aria-label="Remove condition">
        ✕
      </button>
      {c.type === 'group' ? (
        <div style={{ width: '100%' }}>
          <ConditionList match={c.match ?? 'all'} conditions={c.conditions ?? []} set={(match, conditions) => set({ ...c, match, conditions })} depth={depth + 1} />
        </div>
      ) : null}
    </div>
  );
}

function newCondition(type: SegCondition['type']): SegCondition {
  switch (type) {
    case 'performed':
      return { type, event: '$pageview', count_op: 'at_least', count: 1, within_days: 30 };
    case 'not_performed':
      return { type, event: '$pageview', within_days: 30 };
    case 'first_seen':
      return { type, within_days: 7 };
    case 'person':
      return { type, prop: '', op: 'eq', value: '' };
    case 'group':
      return { type, match: 'any', conditions: [newCondition('performed')] };
  }
}

function ConditionList({ match, conditions, set, depth }: { match: 'all' | 'any'; conditions: SegCondition[]; set: (m: 'all' | 'any', c: SegCondition[]) => void; depth: number }) {
  return (
    <div class="stack">
      <label class="inline" style={{ paddingLeft: `${depth}rem` }}>
        Persons matching
        <select value={match} onChange={(e) => set((e.target as HTMLSelectElement).value as 'all' | 'any', conditions)}>
          <option value="all">all</option>
          <option value="any">any</option>
        </select>
        of:
      </label>
      {conditions.map((c, i) => (
        <ConditionEditor
          key={i}
          c={c}
          depth={depth}
          set={(nc) => set(match, conditions.map((x, j) => (j === i ? nc : x)))}
          remove={() => set(match, conditions.filter((_, j) => j !== i))}
        />
      ))}
      <div style={{ paddingLeft: `${depth}rem` }}>
        <button type="button" class="small" onClick={() => set(match, [...conditions, newCondition('performed')])}>
          + Add condition
        </button>
      </div>
    </div>
  );
}

export function SegmentEditor({ id }: { id: string }) {
  const ed = useDefinition<SegmentDef>('segments', id, { match: 'all', conditions: [newCondition('performed')] });
  const p = useProject();
  const size = useAsync(
    (s) => (ed.isNew || !ed.obj.data ? Promise.resolve(null) : runQuery<{ points: { t: string; v: number }[] }>(p.id, { kind: 'segment_size', segment: Number(id), date_from: '-30d', interval: 'day' } as never, s)),
    [p.id, id, ed.obj.data],
  );
  return (
    <div class="stack">
      <EditorShell kind="segments" ed={ed as never}>
        <ConditionList match={ed.def.match ?? 'all'} conditions={ed.def.conditions ?? []} set={(match, conditions) => ed.setDef({ match, conditions })} depth={0} />
      </EditorShell>
      {!ed.isNew && ed.obj.data ? (
        <div class="card row" data-testid="segment-uses">
          <span class="grow">Use this segment as a filter:</span>
          <Link class="button small" href={href(`/p/${p.id}/sessions`, { segment: id })}>
            Their sessions and replays
          </Link>
          <Link
            class="button small"
            href={href(`/p/${p.id}/insights/new`, {
              q: JSON.stringify({ kind: 'trends', series: [{ event: '$pageview', math: 'persons' }], interval: 'day', filters: [{ type: 'segment', op: 'in', value: Number(id) }] }),
            })}
          >
            Their activity as an insight
          </Link>
        </div>
      ) : null}
      {size.data ? (
        <div class="card">
          <h2>Size over the last 30 days</h2>
          <p class="muted">{fmtNum(size.data.points[size.data.points.length - 1]?.v ?? 0)} persons today.</p>
          <TimeChart height={180} times={size.data.points.map((pt) => Date.parse(pt.t))} series={[{ label: 'Members', values: size.data.points.map((pt) => pt.v) }]} />
        </div>
      ) : null}
      {size.error ? <ErrorState error={size.error} retry={size.reload} /> : null}
    </div>
  );
}
