import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression, ExpressionError, RECORD_VARIABLES, type ExprVariable } from '../../../engine/expr/cel.js';
import { ALL, compile, compileFails, evalFails, evaluate } from './cel-helpers.js';

describe('RECORD_VARIABLES', () => {
  it('lists the record variables', () => {
    assert.deepEqual([...RECORD_VARIABLES], ['key', 'value', 'timestamp', 'headers', 'topic', 'partition', 'offset']);
  });
});

describe('compileExpression', () => {
  it('compiles once and evaluates many times with different variables', () => {
    const e = compile('value.qty > 10 && value.store == "berlin"', RECORD_VARIABLES);
    assert.equal(e.source, 'value.qty > 10 && value.store == "berlin"');
    assert.equal(e.evaluate({ value: { qty: 12, store: 'berlin' } }), true);
    assert.equal(e.evaluate({ value: { qty: 9, store: 'berlin' } }), false);
    assert.equal(e.evaluate({ value: { qty: 12, store: 'paris' } }), false);
  });

  it('rejects a variable that is not available (agg among record variables) with its offset', () => {
    const { message, offset } = compileFails('value.qty + agg', RECORD_VARIABLES);
    assert.match(message, /unknown variable 'agg'/);
    assert.match(message, /key, value, timestamp/);
    assert.equal(offset, 12);
    // ...and accepts it where it is declared
    assert.equal(evaluate('value.qty + agg', { value: { qty: 1 }, agg: 2 }, [...RECORD_VARIABLES, 'agg']), 3);
  });

  it('rejects left/right/source outside joins and merges', () => {
    for (const v of ['left', 'right', 'source']) {
      assert.match(compileFails(`${v} == null`, RECORD_VARIABLES).message, new RegExp(`unknown variable '${v}'`));
    }
  });

  it('rejects an unknown function with the offset of its name', () => {
    let r = compileFails('1 + frobnicate(value)');
    assert.equal(r.message, "unknown function 'frobnicate'");
    assert.equal(r.offset, 4);
    r = compileFails('value.items.frobnicate()');
    assert.equal(r.message, "unknown function 'frobnicate'");
    assert.equal(r.offset, 12);
  });

  it('rejects syntax errors with a one-line message and the offset', () => {
    let r = compileFails('value.qty + + 1');
    assert.match(r.message, /^syntax error: /);
    assert.equal(r.offset, 12); // the second '+'
    r = compileFails('value.qty >');
    assert.match(r.message, /syntax error: .*end of expression/);
    assert.equal(r.offset, 11);
    r = compileFails('"unterminated');
    assert.match(r.message, /syntax error: Unterminated string/);
    r = compileFails('value.');
    assert.equal(r.offset, 6);
    r = compileFails('   ');
    assert.match(r.message, /empty/);
  });

  it('rejects type errors at compile time', () => {
    const r = compileFails('"a" + 1');
    assert.match(r.message, /no such overload/);
  });

  it('compiles every expression of the spec examples', () => {
    const join: ExprVariable[] = ['left', 'right', 'key'];
    const cases: Array<[string, readonly ExprVariable[]]> = [
      ['split(lower(value), "\\\\W+")', RECORD_VARIABLES],
      ['value != ""', RECORD_VARIABLES],
      ['value', RECORD_VARIABLES],
      ['{"ad": left.ad, "clicked": right != null}', join],
      ['{"page": left.page, "region": right == null ? "unknown" : right.region}', join],
      ['{"name": left.name, "plan": right == null ? "free" : right.plan}', join],
      ['source == "sales" ? -value.qty : value.qty', [...RECORD_VARIABLES, 'source']],
      ['value < 10', RECORD_VARIABLES],
      ['{"sku": key, "onHand": value}', RECORD_VARIABLES],
      ['value.at', RECORD_VARIABLES],
      ['value.qty', RECORD_VARIABLES],
    ];
    for (const [src, vars] of cases) compile(src, vars);
  });
});

describe('numbers on JSON data', () => {
  it('adds an integer literal to a JSON number', () => {
    const e = compile('value.qty + 1');
    assert.equal(e.evaluate({ value: { qty: 5 } }), 6);
    assert.equal(e.evaluate({ value: { qty: 5.5 } }), 6.5);
    assert.equal(e.evaluate({ value: { qty: -1 } }), 0);
  });

  it('works on the aggregate', () => {
    assert.equal(evaluate('agg.count + 1', { agg: { count: 41 } }), 42);
    assert.equal(evaluate('agg + value.qty', { agg: 10, value: { qty: 2.5 } }), 12.5);
  });

  it('compares JSON numbers with int and double literals', () => {
    assert.equal(evaluate('value.qty > 10', { value: { qty: 12 } }), true);
    assert.equal(evaluate('value.qty > 10', { value: { qty: 10 } }), false);
    assert.equal(evaluate('value.qty == 5', { value: { qty: 5 } }), true);
    assert.equal(evaluate('value.qty != 5', { value: { qty: 5 } }), false);
    assert.equal(evaluate('value.qty == 5.0', { value: { qty: 5 } }), true);
    assert.equal(evaluate('value.a < 2.5', { value: { a: 2 } }), true);
    assert.equal(evaluate('value.a >= 2', { value: { a: 2.5 } }), true);
    assert.equal(evaluate('value.qty in [5, 6]', { value: { qty: 5 } }), true);
  });

  it('mixes integer and decimal literals and JSON numbers in arithmetic', () => {
    assert.equal(evaluate('value.price * 2', { value: { price: 2.25 } }), 4.5);
    assert.equal(evaluate('2 * value.price', { value: { price: 3 } }), 6);
    assert.equal(evaluate('value.qty - 1', { value: { qty: 3 } }), 2);
    assert.equal(evaluate('1 + 2.5'), 3.5);
    assert.equal(evaluate('2.5 - 1'), 1.5);
    assert.equal(evaluate('1.0 == 1'), true);
    assert.equal(evaluate('value.a + value.b', { value: { a: 1, b: 2 } }), 3);
    assert.equal(evaluate('-value.qty', { value: { qty: 3 } }), -3);
    assert.equal(evaluate('value.qty % 2', { value: { qty: 5 } }), 1);
  });

  it('divides JSON numbers like JSON users expect', () => {
    assert.equal(evaluate('value.qty / 2', { value: { qty: 5 } }), 2.5);
    assert.equal(evaluate('value.qty / 2', { value: { qty: 4 } }), 2);
    assert.equal(evaluate('value.a / value.b', { value: { a: 1, b: 4 } }), 0.25);
  });

  it('keeps CEL integer division for two integers (documented)', () => {
    assert.equal(evaluate('5 / 2'), 2);
    assert.equal(evaluate('size(value) / 2', { value: [1, 2, 3] }), 1);
    assert.match(evalFails('1 / 0').message, /division by zero/);
  });

  it('returns numbers, never BigInt', () => {
    for (const src of ['1 + 2', 'size("abc")', 'int(value.x)', '[1, 2][0]', 'value.qty + 1']) {
      const r = evaluate(src, { value: { x: 7.9, qty: 1 } });
      assert.equal(typeof r, 'number', src);
    }
    assert.equal(evaluate('int(value.x)', { value: { x: 7.9 } }), 7);
  });

  it('reports integers outside the safe range and non-finite results', () => {
    assert.match(evalFails('9223372036854775807').message, /outside the range/);
    assert.match(evalFails('value.a / 0', { value: { a: 1 } }).message, /Infinity/);
    assert.equal(evaluate('9007199254740991'), Number.MAX_SAFE_INTEGER);
  });
});

describe('results are plain JSON', () => {
  it('turns map literals into plain objects and lists into arrays', () => {
    const r = evaluate('{"sku": key, "onHand": value.qty + 1, "tags": ["a", 1], "n": {"x": 2}}', { key: 'sku-1', value: { qty: 4 } });
    assert.deepStrictEqual(r, { sku: 'sku-1', onHand: 5, tags: ['a', 1], n: { x: 2 } });
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
  });

  it('converts map keys to strings', () => {
    assert.deepStrictEqual(evaluate('{1: "a", true: "b"}'), { '1': 'a', true: 'b' });
  });

  it('passes input values through unchanged', () => {
    const value = { a: 1, b: [1, 2, { c: null }], s: 'x' };
    assert.equal(evaluate('value', { value }), value);
    assert.deepStrictEqual(evaluate('value.b', { value }), [1, 2, { c: null }]);
    assert.equal(evaluate('value.s', { value }), 'x');
    assert.equal(evaluate('value.b[2].c', { value }), null);
  });

  it('converts bytes to base64 and timestamps to RFC 3339', () => {
    assert.equal(evaluate('b"ab"'), 'YWI=');
    assert.equal(evaluate('timestamp("2026-11-24T10:00:00Z")'), '2026-11-24T10:00:00.000Z');
    assert.equal(evaluate('duration("90s")'), '90s');
  });

  it('accepts Node Buffers as bytes input', () => {
    assert.equal(evaluate('key', { key: Buffer.from('ab') }), 'YWI=');
  });
});

describe('extra functions', () => {
  it('lower, upper, trim', () => {
    assert.equal(evaluate('lower(value)', { value: 'HeLLo' }), 'hello');
    assert.equal(evaluate('upper(value)', { value: 'HeLLo' }), 'HELLO');
    assert.equal(evaluate('trim(value)', { value: '  a b \t\n' }), 'a b');
  });

  it('words: lower-cased \\W+ split without empty strings', () => {
    assert.deepStrictEqual(evaluate('words(value)', { value: '  The cat, THE hat.' }), ['the', 'cat', 'the', 'hat']);
    assert.deepStrictEqual(evaluate('words(value)', { value: ' ,. ' }), []);
  });

  it('a function applied to the wrong type is a run-time error', () => {
    assert.match(evalFails('lower(value)', { value: 5 }).message, /no matching overload/);
  });
});

describe('standard CEL', () => {
  const value = { items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 12 }], tags: ['x', 'y'] };

  it('macros: has, all, exists, exists_one, map, filter, size', () => {
    assert.equal(evaluate('has(value.items)', { value }), true);
    assert.equal(evaluate('has(value.nope)', { value }), false);
    assert.equal(evaluate('value.items.all(i, i.qty > 0)', { value }), true);
    assert.equal(evaluate('value.items.exists(i, i.qty > 10)', { value }), true);
    assert.equal(evaluate('value.items.exists_one(i, i.sku == "a")', { value }), true);
    assert.deepStrictEqual(evaluate('value.items.map(i, i.qty + 1)', { value }), [2, 13]);
    assert.deepStrictEqual(evaluate('value.items.filter(i, i.qty > 10).map(i, i.sku)', { value }), ['b']);
    assert.equal(evaluate('size(value.items)', { value }), 2);
    assert.equal(evaluate('value.tags.size()', { value }), 2);
    assert.equal(evaluate('"y" in value.tags', { value }), true);
  });

  it('ternary', () => {
    assert.equal(evaluate('value.qty > 10 ? "many" : "few"', { value: { qty: 11 } }), 'many');
    assert.equal(evaluate('value.qty > 10 ? "many" : "few"', { value: { qty: 1 } }), 'few');
  });

  it('null checks on the right side of a join', () => {
    const clicked = compile('{"ad": left.ad, "clicked": right != null}');
    assert.deepStrictEqual(clicked.evaluate({ left: { ad: 'a1' }, right: null, key: 'i1' }), { ad: 'a1', clicked: false });
    assert.deepStrictEqual(clicked.evaluate({ left: { ad: 'a1' }, right: { ad: 'a1' }, key: 'i1' }), { ad: 'a1', clicked: true });
    const region = compile('right == null ? "unknown" : right.region');
    assert.equal(region.evaluate({ right: null }), 'unknown');
    assert.equal(region.evaluate({ right: { region: 'eu' } }), 'eu');
  });

  it('headers as an object or a Map', () => {
    assert.equal(evaluate('headers["trace"]', { headers: { trace: 't1' } }), 't1');
    assert.equal(evaluate('headers["trace"]', { headers: new Map([['trace', 't2']]) }), 't2');
    assert.equal(evaluate('"trace" in headers', { headers: {} }), false);
  });

  it('merged streams: source', () => {
    const e = compile('source == "sales" ? -value.qty : value.qty');
    assert.equal(e.evaluate({ source: 'sales', value: { qty: 95 } }), -95);
    assert.equal(e.evaluate({ source: 'shipments', value: { qty: 100 } }), 100);
  });

  it('the timestamp variable and the timestamp() function coexist', () => {
    assert.equal(evaluate('timestamp - 1000', { timestamp: 5000 }), 4000);
    assert.equal(evaluate('timestamp(value.at) > timestamp("2020-01-01T00:00:00Z")', { value: { at: '2026-11-24T10:00:00Z' } }), true);
    assert.equal(evaluate('int(timestamp(value.at)) * 1000', { value: { at: '2026-11-24T10:00:00Z' } }), Date.parse('2026-11-24T10:00:00Z'));
    assert.equal(evaluate('string(timestamp(value.at))', { value: { at: '2026-11-24T10:00:00.000Z' } }), '2026-11-24T10:00:00Z');
  });
});

describe('run-time errors', () => {
  it('a missing field is an ExpressionError that names the field', () => {
    const e = evalFails('value.nope > 1', { value: { qty: 1 } });
    assert.match(e.message, /no such field 'nope' in value/);
    assert.equal(e.name, 'ExpressionError');
    assert.ok(e.cause !== undefined);
    assert.match(evalFails('value.a.b', { value: { a: {} } }).message, /no such field 'b' in value\.a/);
    assert.match(evalFails('value["x y"]', { value: {} }).message, /no such key 'x y' in value/);
  });

  it('a variable without a value is an ExpressionError', () => {
    assert.match(evalFails('right.region', {}).message, /variable 'right' has no value/);
  });

  it('a failed overload is an ExpressionError', () => {
    assert.match(evalFails('value + 1', { value: 'a' }).message, /no such overload/);
  });

  it('ExpressionError carries code, source and cause', () => {
    const cause = new Error('inner');
    const e = new ExpressionError('boom', 'value.x', { cause });
    assert.equal(e.code, 'EXPRESSION');
    assert.equal(e.source, 'value.x');
    assert.equal(e.cause, cause);
    assert.ok(e instanceof Error);
  });
});

describe('sandbox', () => {
  it('no prototype access on values', () => {
    for (const src of ['value.constructor', 'value.__proto__', 'value["constructor"]', 'value["__proto__"]', 'value.toString', 'value.hasOwnProperty', 'key.length', 'value.items.length', 'value.items.constructor']) {
      const e = evalFails(src, { key: 'abc', value: { items: [1] } });
      assert.match(e.message, /no such (field|key)/, src);
    }
  });

  it('no globals', () => {
    for (const g of ['process', 'globalThis', 'require', 'console', 'Function', 'eval', 'this', 'import']) {
      const r = compileExpression(`${g}`, ALL);
      assert.equal(r.ok, false, g);
    }
    assert.match(compileFails('eval("1")').message, /unknown function 'eval'/);
    assert.match(compileFails('value.constructor("return process")()').message, /syntax error|unknown function/);
    assert.match(compileFails('value.constructor("x")').message, /unknown function 'constructor'/);
  });

  it('map literals cannot pollute prototypes', () => {
    const r = evaluate('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(r, '__proto__')?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('field names that are object internals are data', () => {
  const parsed = (json: string): unknown => JSON.parse(json) as unknown;

  it('a "constructor" field, whatever its value', () => {
    const value = parsed('{"qty": 3, "constructor": "x"}');
    assert.equal(evaluate('value.qty + 1', { value }), 4);
    assert.equal(evaluate('value.constructor == "x"', { value }), true);
    assert.equal(evaluate('value.qty', { value: parsed('{"qty": 3, "constructor": null}') }), 3);
    assert.equal(evaluate('has(value.constructor) && value.constructor == null', { value: parsed('{"constructor": null}') }), true);
    assert.equal(evaluate('value.a[0].b.constructor.size()', { value: parsed('{"a": [{"b": {"constructor": [1, 2]}}]}') }), 2);
    assert.deepStrictEqual(evaluate('value.map(k, k)', { value: parsed('{"constructor": 1, "a": 2}') }), ['constructor', 'a']);
  });

  it('passes such objects through as JSON with every field', () => {
    const value = parsed('{"a": [{"constructor": {"constructor": 1}}], "__proto__": 2, "toString": 3}');
    assert.equal(JSON.stringify(evaluate('value', { value })), '{"a":[{"constructor":{"constructor":1}}],"__proto__":2,"toString":3}');
    assert.equal(JSON.stringify(evaluate('{"in": value.a}', { value })), '{"in":[{"constructor":{"constructor":1}}]}');
  });

  it('a "__proto__" field read by JSON.parse is an own field like any other', () => {
    const value = parsed('{"__proto__": 1, "toString": 2, "hasOwnProperty": 3}');
    assert.equal(evaluate('value["__proto__"] + value.toString + value.hasOwnProperty', { value }), 6);
    assert.equal(evaluate('"__proto__" in value && size(value) == 3', { value }), true);
  });

  it('map literals keep every key', () => {
    for (const key of ['constructor', '__proto__', 'prototype', 'toString']) {
      const r = evaluate(`{"${key}": 1, "b": 2}`) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(r), Object.prototype, key);
      assert.deepStrictEqual(Object.entries(r), [[key, 1], ['b', 2]], key);
      assert.equal(JSON.stringify(r), `{"${key}":1,"b":2}`, key);
      assert.equal(evaluate(`{"${key}": 1}["${key}"] + 1`), 2, key);
      assert.deepStrictEqual(Object.entries(evaluate('{key: 1}', { key }) as object), [[key, 1]], key);
    }
  });
});

describe('cost budget', () => {
  const big = 'x'.repeat(10_000);
  const budgetError = /evaluation budget/;

  it('stops a nested comprehension over a 10k-element list', () => {
    const e = evalFails('split(value, "").map(a, split(value, "").map(b, a + b))', { value: big });
    assert.match(e.message, budgetError);
  });

  it('stops it even where CEL would absorb the error (|| true)', () => {
    const e = evalFails('split(value, "").exists(a, split(value, "").exists(b, b == "y")) || true', { value: big });
    assert.match(e.message, budgetError);
  });

  it('stops quadratic list building with +', () => {
    const e = evalFails('value.map(a, value + value)', { value: Array.from({ length: 5000 }, (_, i) => i) });
    assert.match(e.message, budgetError);
  });

  it('stops a result that is too large to convert', () => {
    const e = evalFails('value.map(a, value)', { value: Array.from({ length: 2000 }, (_, i) => i) });
    assert.match(e.message, budgetError);
  });

  // Found by the reliability suite's cel-sandbox: join was not charged, so a 5,000-element list of a
  // 100 KB string made a 500 MB string from one record (the instance reached 4 GB).
  it('stops a join that would build a string past the budget, items or separators', () => {
    const l = Array.from({ length: 5000 }, (_, i) => i);
    assert.match(evalFails('value.l.map(x, value.s).join()', { value: { l, s: 'x'.repeat(10_000) } }).message, budgetError);
    assert.match(evalFails('value.l.map(x, "a").join(value.s)', { value: { l, s: 'x'.repeat(10_000) } }).message, budgetError);
    assert.equal(compile('value.l.map(x, "ab").join(", ")').evaluate({ value: { l } }), Array(5000).fill('ab').join(', '));
  });

  it('lets ordinary comprehensions through and resets per evaluation', () => {
    const e = compile('words(value).filter(w, w != "the").size()');
    for (let i = 0; i < 3; i++) assert.equal(e.evaluate({ value: 'the cat and the hat '.repeat(5000) }), 15_000);
  });
});
