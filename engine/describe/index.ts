import type { KafkaSection, TopologyGraph } from '../api/topology-graph.js';
import { renderDot } from './dot.js';
import { renderMermaid } from './mermaid.js';
import { renderText } from './text.js';

export const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
export type Format = (typeof FORMATS)[number];

export function renderGraph(graph: TopologyGraph, format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(graph.kafka ? { ...graph, kafka: redactKafka(graph.kafka) } : graph, null, 2) + '\n';
    case 'mermaid':
      return renderMermaid(graph);
    case 'dot':
      return renderDot(graph);
    default:
      return renderText(graph);
  }
}

/** What `/topology` and `describe` show of the section: where secrets are, never what they are. */
function redactKafka(section: KafkaSection): KafkaSection {
  const hidden = (v: string | undefined): string | undefined => (v === undefined ? undefined : v.trimStart().startsWith('-----BEGIN') ? '(PEM text)' : v);
  const tls = typeof section.tls === 'object' ? { ...section.tls, ...(section.tls.key !== undefined && { key: hidden(section.tls.key)! }), ...(section.tls.ca !== undefined && { ca: hidden(section.tls.ca)! }), ...(section.tls.cert !== undefined && { cert: hidden(section.tls.cert)! }) } : section.tls;
  const sasl = section.sasl && { ...section.sasl, ...(section.sasl.password !== undefined && { password: '(secret)' }) };
  const r = section.schemaRegistry;
  const schemaRegistry = r && {
    ...r,
    ...(r.url !== undefined && { url: withoutCredentials(r.url) }),
    ...(r.basicAuth && { basicAuth: { ...r.basicAuth, password: '(secret)' } }),
    ...(r.bearerToken !== undefined && { bearerToken: '(secret)' }),
    ...(r.tls && { tls: { ...r.tls, ...(r.tls.key !== undefined && { key: hidden(r.tls.key)! }), ...(r.tls.ca !== undefined && { ca: hidden(r.tls.ca)! }), ...(r.tls.cert !== undefined && { cert: hidden(r.tls.cert)! }) } }),
  };
  return { ...section, ...(tls !== undefined && { tls }), ...(sasl && { sasl }), ...(schemaRegistry && { schemaRegistry }) };
}

/** A URL with any `user:password@` taken out. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return `${u.toString()} (credentials hidden)`;
  } catch {
    return url;
  }
}
