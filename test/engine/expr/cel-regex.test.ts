import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RECORD_VARIABLES } from '../../../engine/expr/cel.js';
import { compileRegex, splitRegex } from '../../../engine/expr/cel-regex.js';
import { compile, compileFails, evalFails, evaluate } from './cel-helpers.js';

/**
 * Evaluates [expression, vars] pairs in a worker thread, which can be stopped while it computes:
 * with a backtracking engine the cases below would run for years, and must fail the test rather
 * than hang the suite. The cap only has to end "never"; the cases take milliseconds with RE2.
 */
function evaluateInWorker(cases: [string, Record<string, unknown>][], capSeconds = 60): Promise<unknown[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ compileExpression, RECORD_VARIABLES }) => {
      parentPort.postMessage(workerData.cases.map(([src, vars]) => {
        const c = compileExpression(src, RECORD_VARIABLES);
        if (!c.ok) return { error: c.message };
        try { return c.expression.evaluate(vars); } catch (e) { return { error: e.message }; }
      }));
    });`;
  const worker = new Worker(code, { eval: true, workerData: { module: new URL('../../../engine/expr/cel.js', import.meta.url).href, cases } });
  return new Promise((resolve, reject) => {
    const cap = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the evaluations had not finished after ${capSeconds} s`));
    }, capSeconds * 1000);
    worker.once('message', (results: unknown[]) => {
      clearTimeout(cap);
      void worker.terminate();
      resolve(results);
    });
    worker.once('error', (e) => {
      clearTimeout(cap);
      reject(e);
    });
  });
}

describe('regular expressions run in linear time (RE2)', () => {
  it('(a+)+$ on 60 a\'s and a b finishes, in split, matches, and from the data', async () => {
    const stuck = 'a'.repeat(60) + 'b';
    const all = 'a'.repeat(60);
    const results = await evaluateInWorker([
      ['split(value, "(a+)+$")', { value: stuck }],
      ['value.matches("(a+)+$")', { value: stuck }],
      ['matches(value, "(a+)+$")', { value: stuck }],
      ['split(value, key)', { key: '(a+)+$', value: stuck }],
      ['split(value, "(a+)+$")', { value: all }],
      ['value.matches("(a+)+$")', { value: all }],
    ]);
    assert.deepStrictEqual(results, [[stuck], false, false, [stuck], ['', ''], true]);
  });

  it('a search that could cost more than the evaluation budget is refused before it starts', () => {
    // 100k characters through a program of 1003 instructions: up to 10^8 steps.
    const e = evalFails('value.matches("[ab]{1000}[cd]")', { value: 'a'.repeat(100_000) });
    assert.match(e.message, /evaluation budget/);
    assert.equal(evaluate('value.matches("b$")', { value: 'a'.repeat(1 << 20) }), false);
    assert.equal(evaluate('size(split(value, "(a+)+$"))', { value: 'a'.repeat((1 << 20) - 1) + 'b' }), 1);
  });

  it('a split whose every search reads to the end of the text stops at the budget', () => {
    // Each "a" is a separator, found only after `(.*z)?` has read on to the end: quadratic.
    assert.match(evalFails('split(value, "a(.*z)?")', { value: 'a'.repeat(100_000) }).message, /evaluation budget/);
    const fields = Array.from({ length: 400 }, (_, i) => `f${i}`).join(' , ');
    assert.equal(evaluate('size(split(value, "\\\\s*,\\\\s*"))', { value: fields }), 400);
  });
});

describe('split', () => {
  it('keeps empty strings (WordCount)', () => {
    assert.deepStrictEqual(evaluate('split(lower(value), "\\\\W+")', { value: '  The cat, THE hat.' }), ['', 'the', 'cat', 'the', 'hat', '']);
    assert.deepStrictEqual(evaluate('split(value, ",")', { value: 'a,,b' }), ['a', '', 'b']);
    assert.deepStrictEqual(evaluate('split(value, ",")', { value: '' }), ['']);
    assert.deepStrictEqual(evaluate('split(value, "")', { value: 'abc' }), ['a', 'b', 'c']);
  });

  it('WordCount: flatMapValues split, then filter value != ""', () => {
    const flat = compile('split(lower(value), "\\\\W+")', RECORD_VARIABLES);
    const keep = compile('value != ""', RECORD_VARIABLES);
    const words = (flat.evaluate({ value: '  The cat sat on the mat' }) as string[]).filter((w) => keep.evaluate({ value: w }) === true);
    assert.deepStrictEqual(words, ['the', 'cat', 'sat', 'on', 'the', 'mat']);
  });

  it('does not splice capture groups into the result (as in Java)', () => {
    assert.deepStrictEqual(evaluate('split(value, "(-)")', { value: 'a-b' }), ['a', 'b']);
    assert.deepStrictEqual(evaluate('split(value, "\\\\s*;\\\\s*")', { value: 'a ; b;c' }), ['a', 'b', 'c']);
    assert.deepStrictEqual(splitRegex('a1b22c', compileRegex('\\d+')), ['a', 'b', 'c']);
    assert.deepStrictEqual(splitRegex('abc', compileRegex('()')), ['a', 'b', 'c']);
    assert.deepStrictEqual(splitRegex('a-b-', compileRegex('(-)')), ['a', 'b', '']);
    assert.deepStrictEqual(evaluate('split(value, "(x)?,")', { value: 'a,b' }), ['a', 'b']);
  });

  it('never cuts a character in two', () => {
    assert.deepStrictEqual(evaluate('split(value, "")', { value: 'a😀b' }), ['a', '😀', 'b']);
    assert.deepStrictEqual(evaluate('split(value, "x*")', { value: '😀x😀' }), ['😀', '😀']);
  });

  it('splits a literal or a repeated ASCII set with V8, exactly as RE2 does', () => {
    const simple = [',', ', ', '\\|', '\\.', 'ab', '\\W+', '\\w+', '\\d+', '\\D+', '\\s+', '\\s', '\\S+', '[\\s,]+', '[,;]', '[,;]+', '[^a-z0-9]+', '[^\\s]+', '[\\W_]+', '[a-c\\d]+', '[.*]'];
    const other = ['.', '\\W', '\\S', '[^a-z]', '[\\S]+', '\\s*,\\s*', '(a+)+$', 'a|b', 'x*', '', '[[:alpha:]]+'];
    for (const p of simple) assert.ok(compileRegex(p).js, p);
    for (const p of other) assert.equal(compileRegex(p).js, undefined, p);
    // Seeded random text over ASCII, white space, accents, a surrogate pair and a lone surrogate.
    const alphabet = ['a', 'b', 'c', 'Z', '0', '7', '_', ' ', ',', ';', '.', '*', '|', '-', '\t', '\n', '\v', '\u2028', 'é', '\u00a0', '😀', '\ud800'];
    let seed = 7;
    const next = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 400; i++) {
      const value = Array.from({ length: next(30) }, () => alphabet[next(alphabet.length)]).join('');
      for (const p of simple) {
        assert.deepStrictEqual(evaluate('split(value, key)', { key: p, value }), splitRegex(value, compileRegex(p)), `${p} on ${JSON.stringify(value)}`);
      }
    }
  });
});

describe('RE2 syntax', () => {
  it('an invalid regex literal is a compile error at the literal', () => {
    let r = compileFails('split(value, "a(")');
    assert.equal(r.message, 'invalid regular expression "a(": missing closing ) at "a("');
    assert.equal(r.offset, 13);
    r = compileFails('value.matches("[")');
    assert.match(r.message, /invalid regular expression "\[": missing closing \]/);
    assert.equal(r.offset, 14);
    r = compileFails('matches(value, "a**")');
    assert.match(r.message, /invalid regular expression "a\*\*": invalid nested repetition operator/);
    assert.equal(r.offset, 15);
  });

  it('refuses lookaround and backreferences, saying why', () => {
    for (const p of ['(?=a)', '(?!a)', '(?<=a)b', '(a)\\\\1']) {
      assert.match(compileFails(`value.matches("${p}")`).message, /\(RE2 syntax: no lookahead, lookbehind or backreferences\)$/, p);
    }
  });

  it('accepts RE2 syntax: inline flags, Unicode classes, POSIX classes, \\x{...}', () => {
    assert.equal(evaluate('value.matches("(?i)^hello$")', { value: 'HeLLo' }), true);
    assert.deepStrictEqual(evaluate('split(value, "\\\\P{L}+")', { value: 'grüße, señor' }), ['grüße', 'señor']);
    assert.deepStrictEqual(evaluate('split(value, "[[:digit:]]+")', { value: 'a12b3c' }), ['a', 'b', 'c']);
    assert.equal(evaluate('value.matches("^caf\\\\x{e9}$")', { value: 'café' }), true);
  });

  it('\\s and \\w are ASCII, as in RE2', () => {
    assert.deepStrictEqual(evaluate('split(value, "\\\\s+")', { value: 'a\u00a0b c' }), ['a\u00a0b', 'c']);
    assert.equal(evaluate('value.matches("^\\\\w+$")', { value: 'café' }), false);
  });

  it('an invalid regex computed at run time is an ExpressionError', () => {
    const e = evalFails('split(value, key)', { value: 'abc', key: '(' });
    assert.match(e.message, /invalid regular expression "\(": missing closing \)/);
    assert.match(evalFails('value.matches(key)', { value: 'abc', key: '(?=a)' }).message, /no lookahead/);
  });

  it('caches compiled regexes', () => {
    assert.equal(compileRegex('x+y'), compileRegex('x+y'));
  });
});
