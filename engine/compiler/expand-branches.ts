import { NAME_PATTERN } from '../../operators/spec.js';
import type { Definition, Pass } from './model.js';

const NAME = new RegExp(NAME_PATTERN);

/**
 * Makes each branch of a `branch` step a stream of its own, `<definition>-<branch>`, as Kafka
 * Streams' `split(Named.as("<definition>-"))` names its branches, so that other definitions read
 * it with `from:`. The branching definition itself stays the stream before the split. `branch`
 * must be its definition's last step and the definition has no `to:`: what follows a split
 * belongs to one branch, and the branch's own definition is where to write it.
 */
export const expandBranches: Pass = {
  name: 'expandBranches',
  run(state, diagnostics) {
    const doc = state.doc!;
    for (const def of [...doc.definitions.values()]) {
      const at = def.steps.findIndex((s) => s.name === 'branch');
      if (at < 0) continue;
      const step = def.steps[at]!;
      const after = def.steps[at + 1];
      if (after) {
        diagnostics.error(after.pointer, `"${after.name}" cannot follow "branch": each branch is a stream of its own; add steps in a definition that reads one, e.g. \`from: ${def.name}-<branch>\``, { atKey: after.args !== null });
      }
      if (def.to) {
        diagnostics.error(def.to.pointer, `\`to\` cannot follow "branch": write a branch from a definition that reads it, e.g. \`from: ${def.name}-<branch>\` with \`to: <topic>\``, { atKey: true });
      }
      const args = step.args as Record<string, unknown>;
      const named = Object.keys(args).filter((k) => k !== 'default');
      const predicates = named.map((k) => String(args[k]));
      const branches = named.map((name, position) => ({ name, position, pointer: `${step.pointer}/${name}`, atKey: true }));
      if (typeof args.default === 'string') {
        const pointer = `${step.pointer}/default`;
        if (named.includes(args.default)) diagnostics.error(pointer, `"${args.default}" names a branch with a predicate already; the default branch needs a name of its own`);
        else branches.push({ name: args.default, position: named.length, pointer, atKey: false });
      }
      for (const b of branches) {
        const name = `${def.name}-${b.name}`;
        if (!NAME.test(name)) {
          diagnostics.error(b.pointer, `the branch's stream "${name}" is longer than a name may be (63 characters); shorten the branch or the definition name`, { atKey: b.atKey });
        } else if (doc.definitions.has(name)) {
          const other = doc.definitions.get(name)!;
          const what = other.branch ? 'a branch of another definition' : `a ${other.section === 'streams' ? 'stream' : 'table'} defined in this file`;
          diagnostics.error(b.pointer, `branch "${b.name}" makes the stream "${name}", which is already ${what}; rename the branch or the definition`, { atKey: b.atKey });
        } else {
          const branch: Definition = { name, section: 'streams', pointer: b.pointer, from: [def.name], merged: false, steps: [], emit: 'changes', branch: { step, predicates, position: b.position } };
          doc.definitions.set(name, branch);
        }
      }
    }
    return state;
  },
};
