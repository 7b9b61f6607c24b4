const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function fmtNum(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 10000) return new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
  return nf.format(n);
}

export function fmtPct(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || Number.isNaN(share)) return '–';
  return (share * 100).toFixed(digits) + '%';
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** mm:ss (or h:mm:ss) of a playback position in milliseconds. */
export function fmtClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function fmtTime(t: string | number | Date): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtDate(t: string | number | Date): string {
  // A bare date is a calendar day, not UTC midnight: read it as local.
  const day = typeof t === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(t) : null;
  const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' });
}

/** The path of a URL, or the input when it is not one. */
export function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

export function eventLabel(name: string): string {
  const known: Record<string, string> = {
    $pageview: 'Pageview',
    $pageleave: 'Page leave',
    $click: 'Click',
    $rageclick: 'Rage click',
    $deadclick: 'Dead click',
    $errorclick: 'Error click',
    $change: 'Change',
    $submit: 'Submit',
    $error: 'JS error',
    $identify: 'Identify',
    $thrash: 'Thrashed cursor',
    $hesitation: 'Hesitation',
    $quickback: 'Quick back',
    $formabandon: 'Form abandoned',
  };
  return known[name] ?? name;
}
