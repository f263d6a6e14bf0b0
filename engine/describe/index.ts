import type { TopologyGraph } from '../api/topology-graph.js';
import { renderDot } from './dot.js';
import { renderMermaid } from './mermaid.js';
import { renderText } from './text.js';

export const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
export type Format = (typeof FORMATS)[number];

export function renderGraph(graph: TopologyGraph, format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(graph, null, 2) + '\n';
    case 'mermaid':
      return renderMermaid(graph);
    case 'dot':
      return renderDot(graph);
    default:
      return renderText(graph);
  }
}
