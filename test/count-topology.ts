/** A count of string-keyed events, windowed when `window` is given: the topology the stream-time and timestamp tests restart (embedded log and Kafka). */
export function countTopology(o: { name: string; input: string; output: string; window?: string; emit?: 'final'; exactlyOnce?: boolean }): string {
  return `version: 1
name: ${o.name}
${o.exactlyOnce ? 'processing:\n  guarantee: exactly_once\n' : ''}streams:
  events:
    topic: ${o.input}
    key: string
    value: string
tables:
  counts:
    from: events
    steps:
      - groupByKey
${o.window ? `      - window: ${o.window}\n` : ''}      - count
${o.emit ? `    emit: ${o.emit}\n` : ''}    to: ${o.output}
`;
}
