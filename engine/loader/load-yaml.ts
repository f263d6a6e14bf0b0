import { isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, visit, type Alias, type Document, type Node, type YAMLError } from 'yaml';
import { pointerOf, type Diagnostic } from '../api/diagnostics.js';
import { humanPath } from '../api/diagnostics.js';
import { LineIndex, PositionTable } from './positions.js';
import { redactor, substituteVariables, type UsedVariable } from './variables.js';

/** A topology file larger than this is refused before parsing: real topologies are a few KB. */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** The most nodes a document may expand to through aliases; guards against "billion laughs". */
export const MAX_EXPANDED_NODES = 100_000;
/** Deeper nesting than this is no topology, and would overflow the stack of recursive code. */
export const MAX_DEPTH = 64;

export interface LoadedYaml {
  /** The document as plain JSON data, `${VAR}` replaced; undefined when it could not be built. */
  readonly data: unknown;
  /** Pointers of values whose `${VAR}` could not be replaced: their other problems follow from it. */
  readonly unresolved: ReadonlySet<string>;
  readonly positions: PositionTable;
  /** As found: their messages, like every other message about the document, go through `redact`. */
  readonly diagnostics: Diagnostic[];
  /** Shows each value that came from an environment variable as `${NAME}`: for every message about this document. */
  readonly redact: (text: string) => string;
}

export interface LoadOptions {
  /** Variables for `${VAR}`; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses YAML text into plain data plus a side table of positions. Never throws for bad input:
 * every problem becomes a positioned diagnostic.
 */
export function loadYaml(file: string, text: string, options: LoadOptions = {}): LoadedYaml {
  const lines = new LineIndex(text);
  const positions = new PositionTable(lines);
  const diagnostics: Diagnostic[] = [];
  const unresolved = new Set<string>();
  const report = (pos: { line: number; col: number }, pointer: string, message: string): void => {
    diagnostics.push({ file, line: pos.line, col: pos.col, path: humanPath(pointer), message });
  };
  const used: UsedVariable[] = [];
  const result = (data: unknown): LoadedYaml => ({ data, unresolved, positions, diagnostics, redact: redactor(used) });
  const fail = (): LoadedYaml => result(undefined);

  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SOURCE_BYTES) {
    report({ line: 1, col: 1 }, '', `file is ${size.toLocaleString('en')} bytes; a topology may be at most ${MAX_SOURCE_BYTES.toLocaleString('en')} bytes (1 MiB)`);
    return fail();
  }

  let doc: Document;
  try {
    doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    report({ line: 1, col: 1 }, '', `YAML nested too deeply; a topology nests at most ${MAX_DEPTH} levels`);
    return fail();
  }
  for (const e of syntaxErrors(doc)) {
    report(errorPosition(text, e.code, e.message, lines.linePos(e.pos[0])), '', yamlMessage(e.code, e.message));
  }
  if (doc.errors.length > 0) return fail();
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    report({ line: 1, col: 1 }, '', 'the file is empty; a topology needs at least `version`, `name` and `streams` or `tables`');
    return fail();
  }

  const builder = new Builder(doc, text, lines, positions, options.env ?? process.env, unresolved, used, report);
  const data = builder.build(doc.contents, [], undefined);
  return builder.aborted ? fail() : result(data);
}

/**
 * The errors worth showing. After the first real syntax error yaml's recovery reports a cascade
 * of follow-on errors that only confuse; duplicate keys and tabs stand on their own.
 */
function syntaxErrors(doc: Document): YAMLError[] {
  const independent = new Set(['DUPLICATE_KEY', 'TAB_AS_INDENT']);
  const firstSyntax = doc.errors.find((e) => !independent.has(e.code));
  return [...doc.errors.filter((e) => independent.has(e.code) || e === firstSyntax), ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0]);
}

/**
 * Where a person should look for a YAML error: yaml reports an unclosed quote at the end of the
 * file and an indentation error at column 1; point at the opening quote and the misplaced key.
 */
function errorPosition(text: string, code: string, message: string, pos: { line: number; col: number }): { line: number; col: number } {
  const lines = text.split('\n');
  const quote = /Missing closing (['"])quote/.exec(message)?.[1];
  if (code === 'MISSING_CHAR' && quote) {
    for (let i = Math.min(pos.line, lines.length) - 1; i >= 0; i--) {
      const open = unclosedQuote(lines[i]!, quote);
      if (open >= 0) return { line: i + 1, col: open + 1 };
    }
  }
  const line = lines[pos.line - 1];
  if (pos.col === 1 && line !== undefined && /^ +\S/.test(line)) return { line: pos.line, col: line.search(/\S/) + 1 };
  return pos;
}

/** The index of a quote that opens a value on this line and is not closed on it, or -1. */
function unclosedQuote(line: string, quote: string): number {
  const start = new RegExp(`(^\\s*|[:\\-\\[,{]\\s+|[\\[{,])${quote === '"' ? '"' : "'"}`, 'g');
  let found = -1;
  for (const m of line.matchAll(start)) {
    const at = m.index + m[0].length - 1;
    const rest = line.slice(at + 1).replace(quote === "'" ? /''/g : /\\./g, '');
    if (!rest.includes(quote)) found = at;
  }
  return found;
}

const TOKEN_TEXT: Record<string, string> = {
  'map-value-ind': '":"', 'seq-item-ind': '"-"', 'explicit-key-ind': '"?"', 'flow-map-start': '"{"', 'flow-map-end': '"}"',
  'flow-seq-start': '"["', 'flow-seq-end': '"]"', comma: '","', 'doc-start': '"---"', 'doc-end': '"..."', anchor: 'an anchor',
  tag: 'a tag', alias: 'an alias', 'block-scalar-header': 'a block scalar header', scalar: 'a value', comment: 'a comment',
};

/** yaml's messages, rewritten where they read like parser internals. */
function yamlMessage(code: string, message: string): string {
  const first = message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/Unexpected ([a-z-]+) token(?: in YAML stream)?(?:: (".*"))?/, (_m, token: string, text?: string) => `unexpected ${text ?? TOKEN_TEXT[token] ?? token.replace(/-/g, ' ')}`);
  if (first.includes('Maximum call stack size')) return `YAML nested too deeply; a topology nests at most ${MAX_DEPTH} levels`;
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear only once in a map';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation; YAML indents with spaces only';
    case 'MULTIPLE_DOCS':
      return 'multiple documents in one file: a topology file holds one YAML document; remove the "---" (or "...") line and what follows, or merge the two';
    case 'MISSING_CHAR': {
      const quote = /Missing closing (['"])quote/.exec(message)?.[1];
      if (quote) return `YAML syntax: Missing closing ${quote}quote: this quoted value is never closed; add the closing ${quote}`;
      return `YAML syntax: ${first}`;
    }
    case 'BAD_INDENT':
    case 'UNEXPECTED_TOKEN':
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return `YAML syntax: ${first} (check the indentation of this line and the one above)`;
    default:
      return `YAML syntax: ${first}`;
  }
}

class Builder {
  aborted = false;
  private expanded = 0;
  /** Each alias's anchored node, or undefined for an unknown anchor; found on the first alias. */
  private targets?: Map<Alias, Node | undefined>;

  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly lines: LineIndex,
    private readonly positions: PositionTable,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly unresolved: Set<string>,
    private readonly used: UsedVariable[],
    private readonly report: (pos: { line: number; col: number }, pointer: string, message: string) => void,
  ) {}

  /**
   * Builds plain data from a node, recording positions. `inAlias` is set while expanding an alias:
   * positions then stay on the alias itself, and expansions are counted.
   */
  build(node: unknown, path: (string | number)[], inAlias: Node | undefined, keyPos?: { line: number; col: number }): unknown {
    if (this.aborted) return undefined;
    const pointer = pointerOf(path);
    if (path.length > MAX_DEPTH) {
      this.aborted = true;
      this.report(node && typeof node === 'object' && 'range' in node ? this.pos(node as Node) : { line: 1, col: 1 }, '', `nested more than ${MAX_DEPTH} levels deep; no topology needs that`);
      return undefined;
    }
    if (inAlias) {
      if (++this.expanded > MAX_EXPANDED_NODES) {
        this.aborted = true;
        this.report(this.pos(inAlias), pointer, `aliases expand to more than ${MAX_EXPANDED_NODES} nodes; refusing a document that would exhaust memory`);
        return undefined;
      }
    } else if (node && typeof node === 'object' && 'range' in node) {
      const n = node as Node;
      const pos = this.pos(n);
      this.positions.set(pointer, {
        ...pos,
        ...(keyPos ? { keyLine: keyPos.line, keyCol: keyPos.col } : {}),
        ...(isScalar(n) ? this.verbatim(n) : {}),
      });
    }

    if (isAlias(node)) {
      const target = this.target(node);
      if (!target) {
        this.report(this.pos(node), pointer, `unknown alias *${node.source}`);
        return undefined;
      }
      return this.build(target, path, inAlias ?? node);
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const k = pair.key;
        let name: string;
        if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number' || typeof k.value === 'boolean')) name = String(k.value);
        else if (isScalar(k) && k.value === null) name = '';
        else {
          this.report(k && typeof k === 'object' && 'range' in k ? this.pos(k as Node) : this.pos(node), pointer, 'map keys must be plain strings');
          continue;
        }
        const kp = isScalar(k) && !inAlias ? this.pos(k) : undefined;
        Object.defineProperty(out, name, {
          value: this.build(pair.value, [...path, name], inAlias, kp),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        if (!inAlias && (pair.value === null || pair.value === undefined) && kp) {
          // `key:` with nothing after it: position the (null) value at its key.
          this.positions.set(pointerOf([...path, name]), { ...kp, keyLine: kp.line, keyCol: kp.col });
        }
      }
      return out;
    }
    if (isSeq(node)) return node.items.map((item, i) => this.build(item, [...path, i], inAlias));
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string') return this.substitute(v, node, pointer);
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Uint8Array || v instanceof Date) return String(node.source ?? v);
      return v;
    }
    return node === undefined ? null : node;
  }

  /**
   * The node an alias names: the last one anchored so before it, as yaml's `Alias.resolve` finds
   * it, but in one walk of the document for all aliases. `resolve` walks the document for each
   * alias, so a bomb in a large document cost that many walks (minutes) before it was refused.
   */
  private target(alias: Alias): Node | undefined {
    if (!this.targets) {
      const targets = new Map<Alias, Node | undefined>();
      const latest = new Map<string, Node>();
      visit(this.doc, {
        Node: (_key, n) => {
          if (isAlias(n)) targets.set(n, latest.get(n.source));
          else if (n.anchor) latest.set(n.anchor, n);
        },
      });
      this.targets = targets;
    }
    return this.targets.get(alias);
  }

  private substitute(value: string, node: Scalar, pointer: string): string {
    const result = substituteVariables(value, this.env, this.used);
    if (result.problems.length > 0) this.unresolved.add(pointer);
    for (const problem of result.problems) {
      const at = this.positions.get(pointer)?.verbatimStart;
      const pos = at !== undefined ? this.lines.linePos(at + problem.index) : this.pos(node);
      this.report(pos, pointer, problem.message);
    }
    return result.value;
  }

  private pos(node: Node): { line: number; col: number } {
    return this.lines.linePos(node.range?.[0] ?? 0);
  }

  private verbatim(node: Scalar): { verbatimStart?: number } {
    if (typeof node.value !== 'string' || !node.range) return {};
    const start = node.range[0];
    const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
    if (!quoted && node.type !== Scalar.PLAIN) return {};
    const from = quoted ? start + 1 : start;
    return this.text.slice(from, from + node.value.length) === node.value ? { verbatimStart: from } : {};
  }
}
