import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { useWidth } from '../lib/hooks';
import { fmtNum } from '../lib/format';

export const palette = ['#3b5bdb', '#f76707', '#2b8a3e', '#c2255c', '#7048e8', '#1098ad', '#e67700', '#5c940d', '#868e96', '#d6336c'];

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  dashed?: boolean;
  /** The series' total when it is not the sum of its points (unique persons). */
  total?: number;
}

/** A time-series chart (uPlot): lines or bars over shared timestamps (ms). */
export function TimeChart({ times, series, kind = 'line', height = 260 }: { times: number[]; series: ChartSeries[]; kind?: 'line' | 'bar'; height?: number }) {
  const [boxRef, width] = useWidth<HTMLDivElement>();
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    if (!target.current || width === 0) return;
    const bars = kind === 'bar' ? uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 40], align: 0 }) : undefined;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#5d6675', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5ea' } },
        { stroke: '#5d6675', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5ea' }, values: (_u, vs) => vs.map((v) => fmtNum(v)), size: 50 },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length],
          width: 2,
          dash: s.dashed ? [6, 4] : undefined,
          fill: kind === 'bar' ? palette[i % palette.length] + 'cc' : palette[i % palette.length] + '14',
          paths: bars,
          points: { show: times.length < 40 },
        })),
      ],
    };
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, target.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [width, times, series, kind, height]);

  const total = (s: ChartSeries) => s.total ?? s.values.reduce<number>((a, v) => a + (v ?? 0), 0);
  return (
    <div ref={boxRef}>
      <div class="chart" ref={target} role="img" aria-label={`Chart of ${series.map((s) => s.label).join(', ')}`} />
      <div class="legend">
        {series.map((s, i) => (
          <span key={s.label + i} data-total={total(s)}>
            <i style={{ background: palette[i % palette.length] }} />
            {s.label} <span class="muted">({fmtNum(total(s))})</span>
          </span>
        ))}
      </div>
    </div>
  );
}
