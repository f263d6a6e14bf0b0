/**
 * Line and column (1-based) of offsets in a text. Built from the text itself: yaml's LineCounter
 * misses newlines inside tokens it skips while recovering from a syntax error.
 */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  linePos(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1 };
  }
}

/** Where a node of the document came from: its value, and for a map entry its key. */
export interface NodePosition {
  readonly line: number;
  readonly col: number;
  readonly keyLine?: number;
  readonly keyCol?: number;
  /**
   * For a one-line scalar whose source text is exactly its value (a plain scalar, or a quoted one
   * without escapes), the offset in the file of the value's first character: lets an error inside
   * an expression point at the exact column.
   */
  readonly verbatimStart?: number;
}

/**
 * The side table from JSON pointer to source position, built while loading.
 * Lookups fall back to the nearest ancestor that has a position.
 */
export class PositionTable {
  private readonly map = new Map<string, NodePosition>();

  constructor(private readonly lines: LineIndex) {}

  set(pointer: string, pos: NodePosition): void {
    this.map.set(pointer, pos);
  }

  get(pointer: string): NodePosition | undefined {
    return this.map.get(pointer);
  }

  /** The position of the node at `pointer`, or of its nearest ancestor; `key` prefers a map entry's key. */
  locate(pointer: string, key = false): { line: number; col: number } {
    let p = pointer;
    let preferKey = key;
    for (;;) {
      const pos = this.map.get(p);
      if (pos) {
        if (preferKey && pos.keyLine !== undefined && pos.keyCol !== undefined) return { line: pos.keyLine, col: pos.keyCol };
        return { line: pos.line, col: pos.col };
      }
      if (p === '') return { line: 1, col: 1 };
      p = p.slice(0, p.lastIndexOf('/'));
      // Something missing inside a map entry is best shown at the entry's key.
      preferKey = true;
    }
  }

  /** The position of character `index` inside the string value at `pointer` (exact for one-line scalars). */
  locateInValue(pointer: string, index: number): { line: number; col: number } {
    const pos = this.map.get(pointer);
    if (pos?.verbatimStart !== undefined) return this.lines.linePos(pos.verbatimStart + index);
    return this.locate(pointer);
  }

  offsetPos(offset: number): { line: number; col: number } {
    return this.lines.linePos(offset);
  }
}
