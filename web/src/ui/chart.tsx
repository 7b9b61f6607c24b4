import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { useWidth } from '../lib/hooks';
import { fmtNum, fmtTime } from '../lib/format';

export const palette = ['#3b5bdb', '#f76707', '#2b8a3e', '#c2255c', '#7048e8', '#1098ad', '#e67700', '#5c940d', '#868e96', '#d6336c'];

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  dashed?: boolean;
  /** The series' total when it is not the sum of its points (unique persons). */
  total?: number;
}

/** A moment marked on a chart: a release. */
export interface ChartMarker {
  /** Milliseconds since the epoch. */
  t: number;
  /** What shows on hover and focus: "Release 2.3.1". */
  label: string;
  version?: string;
}

/**
 * Vertical markers (releases) as elements over the plot, so that a pointer
 * or the keyboard can reach them and they show their label: uPlot draws on
 * a canvas, which neither can. They are placed again whenever the plot is
 * sized or its x scale changes.
 */
function markerPlugin(markers: ChartMarker[]): uPlot.Plugin {
  let els: HTMLElement[] = [];
  const place = (u: uPlot) => {
    const min = u.scales.x.min ?? 0;
    const max = u.scales.x.max ?? 0;
    u.root.dataset['xMin'] = String(min);
    u.root.dataset['xMax'] = String(max);
    markers.forEach((m, i) => {
      const el = els[i]!;
      const x = m.t / 1000;
      const inside = x >= min && x <= max;
      el.hidden = !inside;
      if (!inside) return;
      const left = u.valToPos(x, 'x');
      el.style.left = `${left}px`;
      // The label opens away from the edge it is near.
      el.classList.toggle('flip', left > u.over.clientWidth / 2);
    });
  };
  return {
    hooks: {
      init: (u) => {
        els = markers.map((m) => {
          const el = document.createElement('div');
          el.className = 'chart-marker';
          el.tabIndex = 0;
          el.dataset['t'] = String(m.t);
          if (m.version) el.dataset['version'] = m.version;
          el.setAttribute('aria-label', `${m.label}, ${fmtTime(m.t)}`);
          const tip = document.createElement('span');
          tip.className = 'tip';
          tip.textContent = m.label;
          const when = document.createElement('small');
          when.textContent = fmtTime(m.t);
          tip.append(' ', when);
          el.append(tip);
          u.over.append(el);
          return el;
        });
      },
      ready: place,
      setSize: place,
      setScale: (u, key) => {
        if (key === 'x') place(u);
      },
    },
  };
}

/** A time-series chart (uPlot): lines or bars over shared timestamps (ms), with optional markers. */
export function TimeChart({
  times,
  series,
  kind = 'line',
  height = 260,
  markers = [],
}: {
  times: number[];
  series: ChartSeries[];
  kind?: 'line' | 'bar';
  height?: number;
  markers?: ChartMarker[];
}) {
  const [boxRef, width] = useWidth<HTMLDivElement>();
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    if (!target.current || width === 0) return;
    const markerMax = Math.max(0, ...markers.map((m) => m.t));
    const bars = kind === 'bar' ? uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 40], align: 0 }) : undefined;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      // A release in the last interval, after its point, widens the x
      // scale to show it.
      scales: { x: markerMax > (times[times.length - 1] ?? 0) ? { time: true, range: (_u, min, max) => [min, Math.max(max, markerMax / 1000)] } : { time: true } },
      plugins: markers.length ? [markerPlugin(markers)] : [],
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
  }, [width, times, series, kind, height, markers]);

  const total = (s: ChartSeries) => s.total ?? s.values.reduce<number>((a, v) => a + (v ?? 0), 0);
  const shown = markers.filter((m) => times.length > 0 && m.t >= times[0]!);
  return (
    <div ref={boxRef}>
      {/* With markers the chart holds focusable elements, which an image may not. */}
      <div class="chart" ref={target} role={markers.length ? 'group' : 'img'} aria-label={`Chart of ${series.map((s) => s.label).join(', ')}`} />
      <div class="legend">
        {series.map((s, i) => (
          <span key={s.label + i} data-total={total(s)}>
            <i style={{ background: palette[i % palette.length] }} />
            {s.label} <span class="muted">({fmtNum(total(s))})</span>
          </span>
        ))}
        {shown.length ? (
          <span class="muted" data-testid="release-legend">
            <i class="release-key" aria-hidden="true" />
            {shown.length === 1 ? shown[0]!.label : `${shown.length} releases`}
          </span>
        ) : null}
      </div>
    </div>
  );
}
