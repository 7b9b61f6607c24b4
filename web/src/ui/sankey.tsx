import { sankey, sankeyLinkHorizontal, type SankeyGraph } from 'd3-sankey';
import { useWidth } from '../lib/hooks';
import { palette } from './chart';
import { fmtNum } from '../lib/format';

export interface Flow {
  source: string;
  target: string;
  value: number;
}

interface N {
  id: string;
  name: string;
}

/** A journey diagram: nodes are "step:page" ids, flows their transitions. */
export function Sankey({ flows, height = 460 }: { flows: Flow[]; height?: number }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  if (flows.length === 0) return <div ref={ref} />;
  const ids = new Map<string, N>();
  for (const f of flows) {
    for (const id of [f.source, f.target]) {
      if (!ids.has(id)) ids.set(id, { id, name: id.replace(/^\d+:/, '') });
    }
  }
  const w = Math.max(width, 480);
  let graph: SankeyGraph<N, Flow> | null = null;
  try {
    graph = sankey<N, Flow>()
      .nodeId((n) => n.id)
      .nodeWidth(12)
      .nodePadding(14)
      .extent([
        [1, 8],
        [w - 150, height - 8],
      ])({ nodes: [...ids.values()].map((n) => ({ ...n })), links: flows.map((f) => ({ ...f })) });
  } catch {
    graph = null;
  }
  if (!graph) return <div ref={ref} class="state">These journeys contain a cycle and cannot be drawn as a diagram.</div>;
  const path = sankeyLinkHorizontal();
  const color = (name: string) => {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return palette[h % palette.length]!;
  };
  return (
    <div ref={ref} class="table-wrap">
      <svg class="sankey" width={w} height={height} role="img" aria-label="User journeys">
        {graph.links.map((l, i) => {
          const s = l.source as unknown as N;
          const t = l.target as unknown as N;
          return (
            <path key={i} class="link" d={path(l as never) ?? ''} stroke={color(s.name)} stroke-width={Math.max(1, l.width ?? 1)}>
              <title>{`${s.name} → ${t.name}: ${fmtNum(l.value)}`}</title>
            </path>
          );
        })}
        {graph.nodes.map((n) => (
          <g key={n.id}>
            <rect x={n.x0} y={n.y0} width={(n.x1 ?? 0) - (n.x0 ?? 0)} height={Math.max(1, (n.y1 ?? 0) - (n.y0 ?? 0))} fill={color(n.name)}>
              <title>{`${n.name}: ${fmtNum(n.value ?? 0)}`}</title>
            </rect>
            <text x={(n.x1 ?? 0) + 4} y={((n.y0 ?? 0) + (n.y1 ?? 0)) / 2} dy="0.35em">
              {n.name.length > 28 ? n.name.slice(0, 27) + '…' : n.name} ({fmtNum(n.value ?? 0)})
            </text>
          </g>
        ))}
      </svg>
    </div>
  );
}
