import { didYouMean } from '../validation/suggest.js';
import type { Definition, Pass } from './model.js';

/** The names a definition reads: its `from`, and the `with` of its joins. */
export function dependencies(def: Definition): { name: string; pointer: string }[] {
  const deps = def.from.map((name, i) => ({ name, pointer: def.merged ? `${def.pointer}/from/${i}` : `${def.pointer}/from` }));
  for (const s of def.steps) {
    const w = (s.args as { with?: unknown } | null)?.with;
    if (s.name === 'join' && typeof w === 'string') deps.push({ name: w, pointer: `${s.pointer}/with` });
  }
  return deps;
}

/**
 * Checks that every definition is a source or derived, that names are unique across streams and
 * tables, that `from`/`with` name something defined, and that nothing depends on itself; orders
 * the definitions so that inputs come first.
 */
export const resolveReferences: Pass = {
  name: 'resolveReferences',
  run(state, diagnostics) {
    const doc = state.doc!;
    const raw = state.raw as { streams?: Record<string, unknown>; tables?: Record<string, unknown> };
    for (const name of Object.keys(raw.tables ?? {})) {
      if (raw.streams && Object.hasOwn(raw.streams, name)) {
        diagnostics.error(`/tables/${name}`, `"${name}" is defined both as a stream and as a table; streams and tables share one namespace`, { atKey: true });
      }
    }
    if (doc.definitions.size === 0) diagnostics.error('', 'the topology defines no streams or tables; add a source under `streams:` or `tables:`');

    const names = [...doc.definitions.keys()];
    for (const def of doc.definitions.values()) {
      if (def.source && def.from.length > 0) {
        diagnostics.error(`${def.pointer}/from`, '`topic` and `from` cannot be used together: a source reads a topic, a derived definition reads other streams or tables', { atKey: true });
      } else if (!def.source && def.from.length === 0) {
        diagnostics.error(def.pointer, 'needs `topic` (a source) or `from` (derived from another stream or table)', { atKey: true });
      }
      for (const dep of dependencies(def)) {
        if (!doc.definitions.has(dep.name)) {
          diagnostics.error(dep.pointer, `"${dep.name}" is not defined${didYouMean(dep.name, names)}`);
        }
      }
    }

    // Depth-first order, reporting the first cycle found through each definition.
    const order: string[] = [];
    const state_ = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]): void => {
      const def = doc.definitions.get(name);
      if (!def || state_.get(name) === 'done') return;
      if (state_.get(name) === 'visiting') {
        const cycle = [...path.slice(path.indexOf(name)), name];
        diagnostics.error(def.pointer, `cycle: ${cycle.join(' -> ')}; a definition cannot read its own output`, { atKey: true });
        return;
      }
      state_.set(name, 'visiting');
      for (const dep of dependencies(def)) visit(dep.name, [...path, name]);
      state_.set(name, 'done');
      order.push(name);
    };
    for (const name of names) visit(name, []);
    doc.order = order;
    return state;
  },
};
