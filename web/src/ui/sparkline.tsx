/** One point of a sparkline: a value and, optionally, what was expected. */
export interface SparkPoint {
  t: number;
  v: number;
  e?: number;
}

/**
 * A small inline chart (SVG, no library): the value as a line, the
 * expected value dashed, and an optional highlighted span of time.
 */
export function Sparkline({ points, highlight, label, height = 48 }: { points: SparkPoint[]; highlight?: [number, number]; label: string; height?: number }) {
  if (points.length < 2) return null;
  const w = 300;
  const t0 = points[0]!.t;
  const t1 = points[points.length - 1]!.t;
  const vmax = Math.max(1e-9, ...points.map((p) => Math.max(p.v, p.e ?? 0)));
  const x = (t: number) => ((t - t0) / Math.max(1, t1 - t0)) * w;
  const y = (v: number) => height - 2 - (v / vmax) * (height - 4);
  const line = (f: (p: SparkPoint) => number | undefined) =>
    points
      .filter((p) => f(p) !== undefined && f(p)! >= 0)
      .map((p) => `${x(p.t).toFixed(1)},${y(f(p)!).toFixed(1)}`)
      .join(' ');
  const expected = points.some((p) => p.e !== undefined && p.e >= 0) ? line((p) => p.e) : '';
  return (
    <svg class="sparkline" viewBox={`0 0 ${w} ${height}`} preserveAspectRatio="none" role="img" aria-label={label} style={{ height: `${height}px` }}>
      {highlight ? (
        <rect class="span" x={x(Math.max(t0, highlight[0]))} y={0} width={Math.max(2, x(Math.min(t1, highlight[1])) - x(Math.max(t0, highlight[0])))} height={height} />
      ) : null}
      {expected ? <polyline class="expected" points={expected} /> : null}
      <polyline class="value" points={line((p) => p.v)} />
    </svg>
  );
}
