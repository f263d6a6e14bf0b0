import { aggregate } from './aggregate.js';
import { branch } from './branch.js';
import { count } from './count.js';
import { filter } from './filter.js';
import { flatMapValues } from './flat-map-values.js';
import { flatMap } from './flat-map.js';
import { groupByKey } from './group-by-key.js';
import { groupBy } from './group-by.js';
import { join } from './join.js';
import { mapValues } from './map-values.js';
import { map } from './map.js';
import { avg, max, min, sum } from './numeric-aggregations.js';
import { peek } from './peek.js';
import { reduce } from './reduce.js';
import { repartition } from './repartition.js';
import { selectKey } from './select-key.js';
import type { StepSpec } from './spec.js';
import { toStream } from './to-stream.js';
import { toTable } from './to-table.js';
import { window } from './window.js';

/** Every step of the language, in the order the docs list them. */
export const STEPS: readonly StepSpec[] = [
  filter, mapValues, map, selectKey, flatMapValues, flatMap, peek,
  groupByKey, groupBy, window,
  count, sum, min, max, avg, reduce, aggregate,
  join, toStream, toTable, branch, repartition,
];

export const STEP_BY_NAME: ReadonlyMap<string, StepSpec> = new Map(STEPS.map((s) => [s.name, s]));
