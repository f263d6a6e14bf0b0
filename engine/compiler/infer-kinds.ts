import type { Kind } from '../api/topology-graph.js';
import type { Definition, Diagnostics, Pass, StepUse } from './model.js';

const KIND_NAME: Record<Kind, string> = { stream: 'a stream', grouped: 'a grouped stream', table: 'a table' };

/**
 * Follows each definition's steps from its input and checks they fit: aggregations and `window`
 * only on grouped streams, `toStream` only on tables, the result matching the section it is
 * defined in, `emit: final` only on windowed tables, and the join rules of docs/language.md.
 */
export const inferKinds: Pass = {
  name: 'inferKinds',
  run(state, diagnostics) {
    const doc = state.doc!;
    for (const name of doc.order) {
      const def = doc.definitions.get(name)!;
      const input = inputKind(def, doc.definitions, diagnostics);
      if (!input) continue;
      let cur: { kind: Kind; windowed: boolean } | undefined = input;
      let groupedBy: StepUse | undefined;
      let windowType: string | undefined;
      for (const step of def.steps) {
        if (step.name === 'window') windowType = (step.args as { type?: string } | null)?.type;
        if (step.name === 'aggregate' && windowType === 'session') {
          diagnostics.error(step.pointer, '`aggregate` cannot merge two sessions when a record bridges them; over session windows use count, sum, min, max, avg or reduce', { atKey: true });
        }
        if (step.spec.aggregates) windowType = undefined;
        step.input = cur;
        if (groupedBy?.input?.kind === 'table' && cur.kind === 'grouped') checkTableAggregation(step, diagnostics);
        else if (step.spec.aggregates) checkNoSubtract(step, diagnostics);
        cur = applyStep(def, step, cur, groupedBy, doc.definitions, diagnostics);
        if (!cur) break;
        if (cur.kind === 'grouped' && step.name !== 'window') groupedBy = step;
      }
      if (!cur) continue;
      const expected = def.section === 'streams' ? 'stream' : 'table';
      if (cur.kind !== expected) {
        diagnostics.error(def.pointer, resultMismatch(def, cur.kind), { atKey: true });
        continue;
      }
      def.kind = expected;
      def.windowed = cur.windowed;
      const raw = state.raw as Record<string, Record<string, Record<string, unknown>>>;
      if (raw[def.section]?.[def.name]?.emit !== undefined) {
        if (def.kind === 'stream') diagnostics.error(`${def.pointer}/emit`, '`emit` applies to tables only', { atKey: true });
        else if (def.emit === 'final' && !def.windowed) {
          diagnostics.error(`${def.pointer}/emit`, '`emit: final` needs a windowed table (one result per window once it closes); add a `window` step or use `emit: changes`');
        }
      }
    }
    return state;
  },
};

function inputKind(def: Definition, defs: Map<string, Definition>, diagnostics: Diagnostics): { kind: Kind; windowed: boolean } | undefined {
  if (def.source) return { kind: def.section === 'streams' ? 'stream' : 'table', windowed: false };
  if (def.from.length === 0) return undefined; // neither topic nor from: reported by resolveReferences
  const inputs = def.from.map((n) => defs.get(n));
  if (inputs.some((d) => !d || !d.kind)) return undefined; // reported already
  if (def.merged) {
    let ok = true;
    def.from.forEach((n, i) => {
      if (defs.get(n)!.kind !== 'stream') {
        diagnostics.error(`${def.pointer}/from/${i}`, `only streams can be merged; "${n}" is a table (use a join, or its toStream)`);
        ok = false;
      }
    });
    return ok ? { kind: 'stream', windowed: inputs.some((d) => d!.windowed) } : undefined;
  }
  return { kind: inputs[0]!.kind!, windowed: inputs[0]!.windowed ?? false };
}

function applyStep(
  def: Definition,
  step: StepUse,
  cur: { kind: Kind; windowed: boolean },
  groupedBy: StepUse | undefined,
  defs: Map<string, Definition>,
  diagnostics: Diagnostics,
): { kind: Kind; windowed: boolean } | undefined {
  const at = (message: string): undefined => {
    diagnostics.error(step.pointer, message, { atKey: step.args !== null || step.pointer.endsWith(`/${step.name}`) });
    return undefined;
  };
  const next = step.spec.transitions[cur.kind];
  if (step.name === 'window') {
    if (cur.kind !== 'grouped') return at(`"window" must follow groupBy or groupByKey (it windows a grouped stream); here it gets ${KIND_NAME[cur.kind]}`);
    if (cur.windowed) return at('the stream is already windowed; use one `window` step per aggregation');
    return { kind: 'grouped', windowed: true };
  }
  if (!next) {
    const accepted = Object.keys(step.spec.transitions).map((k) => KIND_NAME[k as Kind]).join(' or ');
    let hint = '';
    if (cur.kind === 'grouped') hint = `; after "${groupedBy?.name ?? 'groupBy'}" comes an aggregation (count, sum, min, max, avg, reduce, aggregate) or a window`;
    else if (step.spec.aggregates || step.name === 'groupBy' || step.name === 'groupByKey') {
      hint = cur.kind === 'table' ? (step.name === 'groupByKey' ? '; a table\'s rows are grouped with `groupBy` (e.g. `groupBy: key`)' : '; group the table\'s rows first with groupBy') : '; group the stream first with groupBy or groupByKey';
    } else if (step.name === 'toStream') hint = '; it is a stream already';
    else if (step.name === 'toTable') hint = '; it is a table already';
    else if (cur.kind === 'table') hint = '; use toStream first to treat the table\'s changes as a stream';
    return at(`"${step.name}" applies to ${accepted}, but here it gets ${KIND_NAME[cur.kind]}${hint}`);
  }
  if (step.name === 'join' && !checkJoin(def, step, cur, defs, diagnostics)) return undefined;
  return { kind: next, windowed: next === 'grouped' ? false : cur.windowed };
}

/**
 * The aggregation of a grouped table must be able to take a row's old value out when the row
 * changes or leaves the group (Kafka Streams' KGroupedTable): count and sum can, reduce and
 * aggregate need a `subtract`, and min, max and avg have none; a table is not windowed.
 */
function checkTableAggregation(step: StepUse, diagnostics: Diagnostics): void {
  const at = (message: string): void => diagnostics.error(step.pointer, message, { atKey: true });
  if (step.name === 'window') at('a grouped table cannot be windowed: its rows are updated in place, not events in time; window a stream (the table\'s toStream) instead');
  else if (['min', 'max', 'avg'].includes(step.name)) {
    at(`\`${step.name}\` cannot aggregate a grouped table: when a row changes or is deleted its old value must be taken out, and a ${step.name} cannot undo one value; use count, sum, reduce or aggregate with \`subtract\` (as Kafka Streams' KGroupedTable)`);
  } else if ((step.name === 'reduce' || step.name === 'aggregate') && (step.args as { subtract?: unknown } | null)?.subtract === undefined) {
    const form = step.name === 'reduce' ? '`reduce: {add: ..., subtract: ...}`' : '`subtract` beside `initial` and `add`';
    at(`\`${step.name}\` of a grouped table needs a subtractor (${form}): when a row changes or is deleted, its old value is taken out of its group's aggregate, as in Kafka Streams' KGroupedTable#${step.name}`);
  }
}

/** `subtract` undoes a table row's old value; a stream's records are never taken back. */
function checkNoSubtract(step: StepUse, diagnostics: Diagnostics): void {
  if ((step.args as { subtract?: unknown } | null)?.subtract === undefined) return;
  diagnostics.error(`${step.pointer}/subtract`, '`subtract` applies to an aggregation of a grouped table (a table\'s `groupBy`); the records of a stream are never taken back', { atKey: true });
}

function checkJoin(def: Definition, step: StepUse, cur: { kind: Kind; windowed: boolean }, defs: Map<string, Definition>, diagnostics: Diagnostics): boolean {
  const args = step.args as { with: string; type?: string; within?: string; grace?: string; foreignKey?: unknown };
  const other = defs.get(args.with);
  if (!other?.kind) return false; // undefined names are reported by resolveReferences
  const type = args.type ?? 'inner';
  const errorAt = (field: string, message: string, atKey = true): false => {
    diagnostics.error(`${step.pointer}/${field}`, message, { atKey });
    return false;
  };
  if (args.with === def.name) return errorAt('with', 'a definition cannot join itself', false);
  if (cur.windowed || other.windowed) return errorAt('with', 'joins of windowed tables are not supported', false);
  if (args.foreignKey !== undefined && (cur.kind !== 'table' || other.kind !== 'table')) {
    const what = cur.kind !== 'table' ? `here it gets ${KIND_NAME[cur.kind]}` : `"${args.with}" is a stream`;
    return errorAt('foreignKey', `a join by \`foreignKey\` joins a table with a table (Kafka Streams' KTable#join with a foreign-key extractor); ${what}`);
  }
  if (args.foreignKey !== undefined && type === 'outer') {
    return errorAt('type', 'a join by `foreignKey` is `inner` or `left`: a row of the other table, joined by its key, has no row of this one to be keyed by', false);
  }
  if (cur.kind === 'stream' && other.kind === 'stream') {
    if (args.within === undefined) {
      diagnostics.error(step.pointer, `a stream-stream join needs \`within\`: how far apart in time two records may be to join (e.g. within: 10m); "${args.with}" is a stream`, { atKey: true });
      return false;
    }
    return true;
  }
  let ok = true;
  for (const field of ['within', 'grace'] as const) {
    if (args[field] !== undefined) {
      ok = errorAt(field, `\`${field}\` applies to stream-stream joins only; "${args.with}" is a table, joined by key as it is when each record arrives`);
    }
  }
  if (cur.kind === 'stream' && type === 'outer') {
    ok = errorAt('type', 'a stream-table join is `inner` or `left`; `outer` needs both sides to be streams or both tables', false);
  }
  if (cur.kind === 'table' && other.kind === 'stream') {
    ok = errorAt('with', `a table cannot join a stream ("${args.with}"); join the stream with the table instead`, false);
  }
  return ok;
}

function resultMismatch(def: Definition, kind: Kind): string {
  if (kind === 'grouped') return 'the steps end with a grouped stream; add an aggregation such as `count`';
  if (def.section === 'tables') return 'is listed under tables but its steps give a stream; add `toTable` or an aggregation, or move it under streams';
  return 'is listed under streams but its steps give a table; add `toStream`, or move it under tables';
}
