import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { STEP_BY_NAME } from '../../operators/index.js';
import { stepDefName } from '../../schema/build.js';
import { pointerOf } from '../api/diagnostics.js';
import { describeValue, expectedTypes, typeName } from './describe-value.js';
import { didYouMean } from './suggest.js';

/** A problem found by the schema, at a JSON pointer; `atKey` points at a map entry's key rather than its value. */
export interface SchemaProblem {
  readonly pointer: string;
  readonly atKey: boolean;
  readonly message: string;
}

type Validators = Record<string, ValidateFunction>;
let loaded: Validators | undefined;

/** The validators ajv generated at build time (schema/validators.cjs, from `npm run generate`). */
function validators(): Validators {
  loaded ??= createRequire(import.meta.url)('../../../schema/validators.cjs') as Validators;
  return loaded;
}

/** Validates with one of the generated validators; problems are rewritten for people. */
export function validateWith(name: 'topology' | 'testFile', data: unknown): SchemaProblem[] {
  const validate = validators()[name]!;
  if (validate(data)) return [];
  return dedupe(explain(validate.errors ?? [], data));
}

const STEP_ITEM = /^\/(?:streams|tables)\/[^/]+\/steps\/\d+/;

/** Validates the document against the topology schema; problems are rewritten for people, one per cause. */
export function validateAgainstSchema(data: unknown): SchemaProblem[] {
  const whole = validators().topology!;
  if (whole(data)) return [];
  const errors = whole.errors ?? [];
  const problems: SchemaProblem[] = [];
  const stepItems = new Set<string>();
  const rest: ErrorObject[] = [];
  for (const e of errors) {
    const m = STEP_ITEM.exec(e.instancePath);
    if (m) stepItems.add(m[0]);
    else rest.push(e);
  }
  problems.push(...explain(rest, data));
  for (const p of stepItems) problems.push(...diagnoseStep(valueAt(data, p), p, data));
  return dedupe(problems);
}

/** A step is diagnosed by its own name, so a typo reads "unknown step" rather than a list of failed branches. */
function diagnoseStep(step: unknown, pointer: string, root: unknown): SchemaProblem[] {
  const names = [...STEP_BY_NAME.keys()];
  if (typeof step === 'string') {
    const spec = STEP_BY_NAME.get(step);
    if (!spec) return [{ pointer, atKey: false, message: `unknown step "${step}"${didYouMean(step, names)}` }];
    if (spec.bare) return [];
    return [{ pointer, atKey: false, message: `step "${step}" needs an argument, e.g. \`${spec.example}\`` }];
  }
  if (step === null || typeof step !== 'object' || Array.isArray(step)) {
    return [{ pointer, atKey: false, message: `a step is a step name or a one-key map such as \`- filter: value.qty > 0\`; got ${describeValue(step)}` }];
  }
  const keys = Object.keys(step);
  const known = keys.filter((k) => STEP_BY_NAME.has(k));
  if (keys.length !== 1) {
    if (keys.length === 0) return [{ pointer, atKey: false, message: 'empty step; write a step such as `- count` or `- filter: value.qty > 0`' }];
    const hint = known.length === 1 ? `; indent the arguments of "${known[0]}" under it` : '';
    return [{ pointer, atKey: false, message: `a step is a one-key map, found keys ${keys.map((k) => `"${k}"`).join(', ')}${hint}` }];
  }
  const name = keys[0]!;
  const spec = STEP_BY_NAME.get(name);
  if (!spec) return [{ pointer: `${pointer}/${escape(name)}`, atKey: true, message: `unknown step "${name}"${didYouMean(name, names)}` }];
  const arg = (step as Record<string, unknown>)[name];
  if (spec.args === null) {
    if (arg === null) return [];
    return [{ pointer: `${pointer}/${escape(name)}`, atKey: false, message: `step "${name}" takes no argument; write \`- ${name}\`` }];
  }
  const validate = validators()[stepDefName(name)]!;
  if (validate(step)) return [];
  const rebased = (validate.errors ?? []).map((e) => ({ ...e, instancePath: pointer + e.instancePath }));
  return explain(rebased, root);
}

function explain(errors: ErrorObject[], root: unknown): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  // Errors inside an anyOf branch are judged with their branch; the rest stand alone.
  const branchParents = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const inBranch = (e: ErrorObject): boolean => branchParents.some((p) => p !== e && e.schemaPath.startsWith(p.schemaPath + '/'));
  for (const e of errors) {
    // A bad name is explained once, by the propertyNames error, not again by the pattern inside it.
    if (inBranch(e) || e.schemaPath.includes('/propertyNames/')) continue;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') out.push(...explainBranches(e, errors, root));
    else if (e.keyword === 'if' || e.keyword === 'propertyNames' && e.params.propertyName === undefined) continue;
    else out.push(explainOne(e, root));
  }
  return out;
}

/** Picks the branch the author most likely meant: one whose type matches, with the fewest errors. */
function explainBranches(parent: ErrorObject, all: ErrorObject[], root: unknown): SchemaProblem[] {
  const branches = new Map<string, ErrorObject[]>();
  for (const e of all) {
    if (!e.schemaPath.startsWith(parent.schemaPath + '/')) continue;
    const idx = e.schemaPath.slice(parent.schemaPath.length + 1).split('/')[0]!;
    if (!branches.has(idx)) branches.set(idx, []);
    branches.get(idx)!.push(e);
  }
  const typeMismatch = (errs: ErrorObject[]): boolean => errs.some((e) => e.instancePath === parent.instancePath && e.keyword === 'type');
  const candidates = [...branches.values()].filter((errs) => !typeMismatch(errs));
  if (candidates.length === 0) {
    const types = new Set<string>();
    for (const errs of branches.values()) for (const e of errs) if (e.keyword === 'type') for (const t of [e.params.type].flat()) types.add(String(t));
    const value = valueAt(root, parent.instancePath);
    return [{ pointer: parent.instancePath, atKey: false, message: `must be ${expectedTypes([...types])}; got ${describeValue(value)}` }];
  }
  candidates.sort((a, b) => a.length - b.length);
  return explain(candidates[0]!, root);
}

function explainOne(e: ErrorObject, root: unknown): SchemaProblem {
  const at = (message: string, pointer = e.instancePath, atKey = false): SchemaProblem => ({ pointer, atKey, message });
  const value = e.data;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = String(e.params.missingProperty);
      return at(`missing required field "${missing}"`, e.instancePath, true);
    }
    case 'additionalProperties': {
      const extra = String(e.params.additionalProperty);
      const allowed = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
      const where = `${e.instancePath}/${escape(extra)}`;
      const hint = didYouMean(extra, allowed) || (allowed.length > 0 && allowed.length <= 8 ? `; allowed: ${allowed.join(', ')}` : '');
      return at(`unknown field "${extra}"${hint}`, where, true);
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const got = typeof value === 'string' ? value : String(value);
      return at(`must be one of ${allowed.join(', ')}; got ${describeValue(value)}${didYouMean(got, allowed)}`);
    }
    case 'const':
      return at(`must be ${JSON.stringify(e.params.allowedValue)}; got ${describeValue(value)}`);
    case 'type':
      if (parent['x-message']) return at(`${parent['x-message'] as string}; got ${describeValue(value)}`);
      return at(`must be ${expectedTypes([e.params.type].flat().map(String))}; got ${typeName(value) === 'null' ? 'nothing (null)' : describeValue(value)}`);
    case 'pattern':
      return at(`${(parent['x-message'] as string | undefined) ?? `must match ${String(e.params.pattern)}`}; got ${describeValue(value)}`);
    case 'propertyNames':
      return at(`name "${String(e.params.propertyName)}" must be lower-case letters, digits and dashes, starting with a letter (at most 63 characters)`, `${e.instancePath}/${escape(String(e.params.propertyName))}`, true);
    case 'minItems':
      return at('must not be empty');
    case 'minLength':
      return at('must not be empty');
    case 'uniqueItems':
      return at(`lists ${describeValue(valueAt(root, `${e.instancePath}/${String(e.params.j)}`))} twice`);
    case 'dependentRequired':
      return at(dependentMessage(String(e.params.property), String(e.params.missingProperty)), `${e.instancePath}/${escape(String(e.params.property))}`, true);
    default:
      return at(e.message ?? `fails ${e.keyword}`);
  }
}

function dependentMessage(property: string, missing: string): string {
  if (property === 'steps') return '`steps` need an input: add `from` naming the stream or table they apply to';
  return `"${property}" is a setting of a source: add "${missing}" to read a topic, or remove it (a derived definition takes its serdes from its input)`;
}

function dedupe(problems: SchemaProblem[]): SchemaProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.pointer}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function escape(segment: string): string {
  return pointerOf([segment]).slice(1);
}

export function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}
