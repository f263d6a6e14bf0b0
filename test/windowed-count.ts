/** A windowed count of string-keyed events, the topology the stream-time tests restart (embedded log and Kafka). */
export function windowedCount(o: { name: string; input: string; output: string; window: string; emit?: 'final'; exactlyOnce?: boolean }): string {
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
      - window: ${o.window}
      - count
${o.emit ? `    emit: ${o.emit}\n` : ''}    to: ${o.output}
`;
}
