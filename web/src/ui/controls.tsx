import { useEffect, useRef, useState } from 'preact/hooks';

const presets: [string, string, string][] = [
  ['-24h', 'now', 'Last 24 hours'],
  ['-7d', 'today', 'Last 7 days'],
  ['-14d', 'today', 'Last 14 days'],
  ['-30d', 'today', 'Last 30 days'],
  ['-90d', 'today', 'Last 90 days'],
  ['-12m', 'today', 'Last 12 months'],
];

const isoDay = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** A date-range picker: presets, or two dates. Values are the engine's date strings. */
export function DateRange({ from, to, onChange }: { from: string; to: string; onChange: (from: string, to: string) => void }) {
  const preset = presets.find((p) => p[0] === from && p[1] === to);
  const [custom, setCustom] = useState(!preset);
  const today = isoDay(new Date());
  return (
    <div class="row" role="group" aria-label="Date range">
      <label class="inline">
        <span class="sr-only">Date range</span>
        <select
          value={custom ? 'custom' : from}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === 'custom') {
              setCustom(true);
              const start = new Date(Date.now() - 6 * 86400000);
              onChange(/^\d{4}-/.test(from) ? from : isoDay(start), /^\d{4}-/.test(to) ? to : today);
              return;
            }
            setCustom(false);
            const p = presets.find((x) => x[0] === v)!;
            onChange(p[0], p[1]);
          }}
        >
          {presets.map((p) => (
            <option key={p[0]} value={p[0]}>
              {p[2]}
            </option>
          ))}
          <option value="custom">Custom range…</option>
        </select>
      </label>
      {custom ? (
        <>
          <label class="inline">
            <span class="sr-only">From</span>
            <input type="date" value={/^\d{4}-/.test(from) ? from.slice(0, 10) : ''} max={today} onChange={(e) => onChange((e.target as HTMLInputElement).value, to)} />
          </label>
          <span aria-hidden="true">→</span>
          <label class="inline">
            <span class="sr-only">To</span>
            <input type="date" value={/^\d{4}-/.test(to) ? to.slice(0, 10) : ''} onChange={(e) => onChange(from, (e.target as HTMLInputElement).value)} />
          </label>
        </>
      ) : null}
    </div>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without clipboard permission (or over plain HTTP), fall back to a
    // selection and the legacy copy command.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      class="small"
      onClick={async () => {
        setState((await copyText(text)) ? 'copied' : 'failed');
        clearTimeout(timer.current);
        timer.current = window.setTimeout(() => setState('idle'), 2000);
      }}
    >
      <span aria-live="polite">{state === 'copied' ? 'Copied!' : state === 'failed' ? 'Press Ctrl+C' : label}</span>
    </button>
  );
}

/** Text input with suggestions (a datalist). */
export function Suggest({
  id,
  value,
  options,
  placeholder,
  label,
  onInput,
  required,
}: {
  id: string;
  value: string;
  options: string[];
  placeholder?: string;
  label: string;
  onInput: (v: string) => void;
  required?: boolean;
}) {
  return (
    <>
      <input
        aria-label={label}
        list={id + '-list'}
        value={value}
        placeholder={placeholder}
        required={required}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
      />
      <datalist id={id + '-list'}>
        {options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
    </>
  );
}

export const commonEvents = ['$pageview', '$click', '$rageclick', '$deadclick', '$errorclick', '$pageleave', '$submit', '$change', '$error', '$identify'];
