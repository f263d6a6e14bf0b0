import { serdeFor } from '../engine/serde/index.js';
import { defineStep, expression } from './spec.js';
import { compiled, processor, recordVars } from './runtime.js';

/** Lines one peek writes per task in any one second; the rest are counted, and the count logged. */
export const PEEK_LINES_PER_SECOND = 10;

/**
 * Keeps a peek's log bounded: at most `perSecond` lines in each wall-clock second. The first line
 * after a second that dropped some says how many.
 */
export class PeekLimiter {
  private second = -1;
  private lines = 0;
  private dropped = 0;

  constructor(private readonly perSecond = PEEK_LINES_PER_SECOND) {}

  /** The line to write now (with the count dropped before it, if any), or undefined when over the limit. */
  admit(line: string, nowMs: number): string | undefined {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.lines = 0;
    }
    if (this.lines >= this.perSecond) {
      this.dropped++;
      return undefined;
    }
    this.lines++;
    if (this.dropped === 0) return line;
    const note = `${line} (${this.dropped} record${this.dropped === 1 ? '' : 's'} not logged before it: at most ${this.perSecond} lines a second)`;
    this.dropped = 0;
    return note;
  }
}

const JSON_SERDE = serdeFor('json');
/** Values as their JSON text (bytes as base64, as in `json` values); what JSON cannot hold, as JavaScript prints it. */
const show = (v: unknown): string => {
  try {
    return JSON_SERDE.serialize(v)?.toString('utf8') ?? 'null';
  } catch {
    return String(v);
  }
};

/**
 * Kafka Streams' `peek()`, whose useful side effect in YAML is a log line: records pass unchanged.
 * Lines go to the engine's log (stderr in `duality run`).
 */
export const peek = defineStep({
  name: 'peek',
  doc: 'Logs records as they pass, unchanged (key, value, timestamp, topic-partition@offset), at most 10 lines a second per task; `- peek` logs every record.',
  example: '- peek: {label: big-orders, every: 100, log: value.qty}',
  // As in Kafka Streams, streams only: a peek ending a table's definition would hold the table in a store of its own.
  transitions: { stream: 'stream' },
  args: {
    type: 'object',
    properties: {
      label: { type: 'string', minLength: 1, description: 'Names the peek in its log lines; default: the node, `<definition>.<step>.peek`.' },
      every: { type: 'integer', minimum: 1, description: 'Logs one record in this many (the 1st, the every+1-th, ...) per task; default 1.' },
      log: expression('what to log instead of the value, e.g. `value.qty`'),
    },
    additionalProperties: false,
  },
  bare: true,
  expressions: [{ path: ['log'], scope: 'record' }],
  create(node) {
    const label = (node.args.label as string | undefined) ?? node.id;
    const every = Number(node.args.every ?? 1);
    const what = node.args.log === undefined ? undefined : compiled(node, 'log', 'record');
    return processor((ctx) => {
      const limiter = new PeekLimiter();
      let seen = 0;
      return (r) => {
        if (seen++ % every === 0) {
          // A failing `log` expression is a bad record, as in any other step: peek must not hide it.
          const shown = what ? what.evaluate(recordVars(r)) : r.value;
          const line = limiter.admit(`duality: peek ${label} [task ${ctx.taskId}]: ${r.topic}-${r.partition}@${r.offset} timestamp=${r.timestamp} key=${show(r.key)} ${what ? 'log' : 'value'}=${show(shown)}`, Date.now());
          if (line !== undefined) ctx.log(line);
        }
        return ctx.forward(r);
      };
    });
  },
});
