import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';
import { pointerOf, type Diagnostic } from '../api/diagnostics.js';
import { humanPath } from '../api/diagnostics.js';
import { PositionTable } from './positions.js';
import { substituteVariables } from './variables.js';

/** A topology file larger than this is refused before parsing: real topologies are a few KB. */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** The most nodes a document may expand to through aliases; guards against "billion laughs". */
export const MAX_EXPANDED_NODES = 100_000;

export interface LoadedYaml {
  /** The document as plain JSON data, `${VAR}` replaced; undefined when it could not be built. */
  readonly data: unknown;
  readonly positions: PositionTable;
  readonly diagnostics: Diagnostic[];
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
  const lines = new LineCounter();
  const positions = new PositionTable(lines);
  const diagnostics: Diagnostic[] = [];
  const report = (pos: { line: number; col: number }, pointer: string, message: string): void => {
    diagnostics.push({ file, line: pos.line, col: pos.col, path: humanPath(pointer), message });
  };

  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SOURCE_BYTES) {
    report({ line: 1, col: 1 }, '', `file is ${(size / 1024 / 1024).toFixed(1)} MiB; a topology may be at most ${MAX_SOURCE_BYTES / 1024 / 1024} MiB`);
    return { data: undefined, positions, diagnostics };
  }

  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  for (const e of [...doc.errors, ...doc.warnings]) {
    report(lines.linePos(e.pos[0]), '', yamlMessage(e.code, e.message));
  }
  if (doc.errors.length > 0) return { data: undefined, positions, diagnostics };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    report({ line: 1, col: 1 }, '', 'the file is empty; a topology needs at least `version`, `name` and `streams` or `tables`');
    return { data: undefined, positions, diagnostics };
  }

  const builder = new Builder(doc, text, lines, positions, options.env ?? process.env, report);
  const data = builder.build(doc.contents, [], undefined);
  return { data: builder.aborted ? undefined : data, positions, diagnostics };
}

/** yaml's messages, rewritten where they read like parser internals. */
function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear only once in a map';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation; YAML indents with spaces only';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return `YAML syntax: ${first} (check the indentation of this line and the one above)`;
    default:
      return `YAML syntax: ${first}`;
  }
}

class Builder {
  aborted = false;
  private expanded = 0;

  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly lines: LineCounter,
    private readonly positions: PositionTable,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly report: (pos: { line: number; col: number }, pointer: string, message: string) => void,
  ) {}

  /**
   * Builds plain data from a node, recording positions. `inAlias` is set while expanding an alias:
   * positions then stay on the alias itself, and expansions are counted.
   */
  build(node: unknown, path: (string | number)[], inAlias: Node | undefined, keyPos?: { line: number; col: number }): unknown {
    if (this.aborted) return undefined;
    const pointer = pointerOf(path);
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
      const target = node.resolve(this.doc);
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

  private substitute(value: string, node: Scalar, pointer: string): string {
    const result = substituteVariables(value, this.env);
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
