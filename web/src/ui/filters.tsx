// Pickers for what queries count and narrow to: events or saved actions,
// and filters on event or person properties or on segment membership.

import { get } from '../lib/api';
import { useAsync } from '../lib/hooks';
import type { EventRef, Filter } from '../lib/query';
import { commonEvents, Suggest } from './controls';
import { Link } from './link';

export interface Named {
  id: number;
  name: string;
}

/** The project's saved actions or segments, for pickers. */
export function useNamed(pid: number, kind: 'actions' | 'segments'): Named[] {
  const res = useAsync((s) => get<Record<string, Named[]>>(`/api/projects/${pid}/${kind}`, s), [pid, kind]);
  return res.data?.[kind] ?? [];
}

const actionPrefix = 'action: ';

/**
 * An event name, or a saved action typed or chosen as "action: <name>".
 * onChange gets the event or the action, never both; where-filters are the
 * caller's to keep.
 */
export function EventPicker({
  id,
  label,
  value,
  actions,
  placeholder,
  onChange,
}: {
  id: string;
  label: string;
  value: EventRef;
  actions: Named[];
  placeholder?: string;
  onChange: (ref: { event?: string; action?: number }) => void;
}) {
  const current = value.action ? actions.find((a) => a.id === value.action) : undefined;
  const text = value.action ? actionPrefix + (current?.name ?? `#${value.action}`) : (value.event ?? '');
  return (
    <Suggest
      id={id}
      label={label}
      value={text}
      placeholder={placeholder}
      options={[...commonEvents, ...actions.map((a) => actionPrefix + a.name)]}
      onInput={(v) => {
        const name = v.startsWith(actionPrefix) ? v.slice(actionPrefix.length) : null;
        const a = name !== null ? actions.find((x) => x.name === name) : undefined;
        onChange(a ? { action: a.id } : { event: v });
      }}
    />
  );
}

/** Replaces what ref counts (event or action), keeping its other fields. */
export function withRef<T extends EventRef>(ref: T, next: { event?: string; action?: number }): T {
  const { event: _e, action: _a, ...rest } = ref;
  return { ...rest, ...next } as T;
}

const ops: [string, string][] = [
  ['eq', 'is'],
  ['neq', 'is not'],
  ['contains', 'contains'],
  ['not_contains', 'does not contain'],
  ['gt', 'greater than'],
  ['lt', 'less than'],
  ['is_set', 'is set'],
  ['is_not_set', 'is not set'],
];

const eventProps = ['path', 'url', 'host', 'title', 'referring_domain', 'browser', 'os', 'device_type', 'utm_source', 'utm_medium', 'utm_campaign'];

const valueless = (op: string) => op === 'is_set' || op === 'is_not_set';

/** Whether a filter is complete enough to send (the editor keeps drafts). */
export function filterReady(f: Filter): boolean {
  if (f.type === 'segment') return typeof f.value === 'number' && f.value > 0;
  return !!f.prop && (valueless(f.op) || (f.value !== undefined && f.value !== ''));
}

/** Filters on event properties, person properties and segment membership. */
export function FilterBar({ filters, onChange, segments, pid }: { filters: Filter[]; onChange: (f: Filter[]) => void; segments: Named[]; pid: number }) {
  const upd = (i: number, f: Filter) => onChange(filters.map((x, j) => (j === i ? f : x)));
  return (
    <fieldset class="stack" data-testid="filters">
      <legend>Filters</legend>
      {filters.map((f, i) => (
        <div class="row" key={i} data-testid="filter">
          <select
            aria-label={`Filter ${i + 1} applies to`}
            value={f.type ?? 'event'}
            onChange={(e) => {
              const t = (e.target as HTMLSelectElement).value as Filter['type'];
              upd(i, t === 'segment' ? { type: 'segment', op: 'in', value: segments[0]?.id } : { type: t, prop: t === 'event' ? 'path' : '', op: 'eq', value: '' });
            }}
          >
            <option value="event">Event property</option>
            <option value="person">Person property</option>
            <option value="segment">Segment</option>
          </select>
          {f.type === 'segment' ? (
            <>
              <select aria-label={`Filter ${i + 1} membership`} value={f.op} onChange={(e) => upd(i, { ...f, op: (e.target as HTMLSelectElement).value })}>
                <option value="in">person is in</option>
                <option value="not_in">person is not in</option>
              </select>
              {segments.length ? (
                <select aria-label={`Filter ${i + 1} segment`} value={String(f.value ?? '')} onChange={(e) => upd(i, { ...f, value: Number((e.target as HTMLSelectElement).value) })}>
                  {segments.map((s) => (
                    <option key={s.id} value={String(s.id)}>
                      {s.name}
                    </option>
                  ))}
                </select>
              ) : (
                <span class="small muted">
                  No segments yet: <Link href={`/p/${pid}/segments/new`}>create one</Link>.
                </span>
              )}
            </>
          ) : (
            <>
              <Suggest
                id={`filter-${i}-prop`}
                label={`Filter ${i + 1} property`}
                value={f.prop ?? ''}
                placeholder={f.type === 'person' ? 'plan' : 'path'}
                options={f.type === 'person' ? [] : eventProps}
                onInput={(v) => upd(i, { ...f, prop: v })}
              />
              <select aria-label={`Filter ${i + 1} operator`} value={f.op} onChange={(e) => upd(i, { ...f, op: (e.target as HTMLSelectElement).value })}>
                {ops.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
              {valueless(f.op) ? null : (
                <input
                  aria-label={`Filter ${i + 1} value`}
                  value={String(f.value ?? '')}
                  onInput={(e) => {
                    const v = (e.target as HTMLInputElement).value;
                    // Comparisons are numeric: send a number when it is one.
                    upd(i, { ...f, value: (f.op === 'gt' || f.op === 'lt') && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v });
                  }}
                />
              )}
            </>
          )}
          <button type="button" class="small" aria-label={`Remove filter ${i + 1}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <div class="row">
        <button type="button" class="small" onClick={() => onChange([...filters, { type: 'event', prop: 'path', op: 'eq', value: '' }])}>
          + Property filter
        </button>
        <button type="button" class="small" onClick={() => onChange([...filters, { type: 'segment', op: 'in', value: segments[0]?.id }])}>
          + Segment filter
        </button>
      </div>
    </fieldset>
  );
}
