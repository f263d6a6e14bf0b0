import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalValue, NOT_CANONICAL } from '../../../engine/serde/canonical.js';
import { serdeFor, SerdeError } from '../../../engine/serde/index.js';

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));
const fromHex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

function serdeError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SerdeError, `expected a SerdeError, got ${String(e)}`);
    assert.equal(e.code, 'SERDE');
    assert.match(e.message, pattern);
    return true;
  });
}

describe('serdes: null is a tombstone both ways', () => {
  for (const name of ['string', 'json', 'long', 'int', 'double', 'bytes'] as const) {
    it(name, () => {
      assert.equal(serdeFor(name).serialize(null), null);
      assert.equal(serdeFor(name).deserialize(null), null);
      assert.equal(serdeFor(name).name, name);
    });
  }
});

describe('string serde (Kafka StringSerializer)', () => {
  const s = serdeFor('string');
  it('writes UTF-8', () => {
    assert.equal(hex(s.serialize('héllo')), '68c3a96c6c6f');
    assert.equal(hex(s.serialize('')), '');
    assert.equal(s.deserialize(fromHex('68c3a96c6c6f')), 'héllo');
    assert.equal(s.deserialize(s.serialize('日本語 🌵')), '日本語 🌵');
  });
  it('writes numbers and booleans as their text', () => {
    assert.equal(s.serialize(42)?.toString(), '42');
    assert.equal(s.serialize(1.5)?.toString(), '1.5');
    assert.equal(s.serialize(true)?.toString(), 'true');
  });
  it('refuses NaN and ±Infinity rather than writing their names', () => {
    serdeError(() => s.serialize(Infinity), /string serde: cannot encode number Infinity: not a finite number/);
    serdeError(() => s.serialize(NaN), /not a finite number/);
  });
  it('refuses maps and lists and suggests json', () => {
    serdeError(() => s.serialize({ a: 1 }), /string serde: cannot encode a map.*use the json serde/);
    serdeError(() => s.serialize([1]), /cannot encode a list.*json/);
  });
  it('decodes malformed UTF-8 to replacement characters like Java', () => {
    assert.equal(s.deserialize(fromHex('61ff62')), 'a\uFFFDb');
  });
});

describe('json serde', () => {
  const j = serdeFor('json');
  it('writes compact UTF-8 JSON and reads it back', () => {
    assert.equal(j.serialize({ word: 'é', n: [1, 2.5, null, true] })?.toString('utf8'), '{"word":"é","n":[1,2.5,null,true]}');
    assert.deepEqual(j.deserialize(Buffer.from('{"a":{"b":[1,"x"]}}')), { a: { b: [1, 'x'] } });
    assert.equal(j.deserialize(Buffer.from('"text"')), 'text');
    assert.equal(j.deserialize(Buffer.from('12')), 12);
  });
  it('writes bytes as base64, also nested', () => {
    assert.equal(j.serialize(Buffer.from([1, 2, 3]))?.toString(), '"AQID"');
    assert.equal(j.serialize({ raw: Buffer.from('hi'), n: 1 })?.toString(), '{"raw":"aGk=","n":1}');
  });
  it('reports bytes that are not JSON with a short reason', () => {
    serdeError(() => j.deserialize(Buffer.from('{nope')), /^json serde: not valid JSON: .+/);
    serdeError(() => j.deserialize(Buffer.from('')), /not valid JSON/);
  });
  it('refuses values JSON cannot hold', () => {
    serdeError(() => j.serialize(10n), /json serde: cannot encode the value/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    serdeError(() => j.serialize(cyclic), /cannot encode the value/);
  });
  it('refuses NaN and ±Infinity anywhere in the value, which JSON.stringify writes as null', () => {
    serdeError(() => j.serialize(1e308 * 10), /^json serde: cannot encode number Infinity: not a finite number \(beyond ±1\.8e308/);
    serdeError(() => j.serialize({ a: [1, { b: -Infinity }] }), /cannot encode the number at \.a\[1\]\.b: not a finite number/);
    serdeError(() => j.serialize([NaN]), /the number at \[0\]/);
    assert.equal(j.serialize({ a: null, note: 'null' })?.toString(), '{"a":null,"note":"null"}');
  });
});

describe('long serde (Kafka LongSerializer)', () => {
  const l = serdeFor('long');
  const vectors: [number, string][] = [
    [0, '00 00 00 00 00 00 00 00'],
    [1, '00 00 00 00 00 00 00 01'],
    [-1, 'ff ff ff ff ff ff ff ff'],
    [258, '00 00 00 00 00 00 01 02'],
    [4294967296, '00 00 00 01 00 00 00 00'],
    [-4294967297, 'ff ff ff fe ff ff ff ff'],
    [Number.MAX_SAFE_INTEGER, '00 1f ff ff ff ff ff ff'],
    [-Number.MAX_SAFE_INTEGER, 'ff e0 00 00 00 00 00 01'],
  ];
  for (const [n, bytes] of vectors) {
    it(`${n} <-> ${bytes}`, () => {
      assert.equal(hex(l.serialize(n)), bytes.replace(/ /g, ''));
      assert.equal(l.deserialize(fromHex(bytes)), n);
    });
  }
  it('accepts BigInt and integer text (keys from URLs)', () => {
    assert.equal(hex(l.serialize(-1n)), 'ffffffffffffffff');
    assert.equal(hex(l.serialize('258')), '0000000000000102');
  });
  it('refuses non-integers and values beyond ±(2^53-1)', () => {
    serdeError(() => l.serialize(1.5), /long serde: cannot encode number 1\.5: not an integer/);
    serdeError(() => l.serialize(2 ** 53), /outside ±\(2\^53-1\)/);
    serdeError(() => l.serialize(2n ** 60n), /outside/);
    serdeError(() => l.serialize('9007199254740993'), /outside/);
    serdeError(() => l.serialize('12abc'), /expected an integer/);
    serdeError(() => l.serialize(true), /expected an integer/);
  });
  it('refuses stored longs a JSON number cannot hold exactly, rather than rounding them', () => {
    serdeError(() => l.deserialize(fromHex('7fffffffffffffff')), /9223372036854775807 is outside/);
    serdeError(() => l.deserialize(fromHex('0020000000000000')), /outside/);
  });
  it('refuses the wrong number of bytes', () => {
    serdeError(() => l.deserialize(fromHex('0001')), /^long serde: expected 8 bytes, got 2$/);
  });
});

describe('int serde (Kafka IntegerSerializer)', () => {
  const i = serdeFor('int');
  it('writes 4-byte big-endian two\'s complement', () => {
    assert.equal(hex(i.serialize(258)), '00000102');
    assert.equal(hex(i.serialize(-1)), 'ffffffff');
    assert.equal(hex(i.serialize(2147483647)), '7fffffff');
    assert.equal(hex(i.serialize(-2147483648)), '80000000');
    assert.equal(i.deserialize(fromHex('80000000')), -2147483648);
    assert.equal(i.deserialize(fromHex('00000102')), 258);
  });
  it('checks the range and the length', () => {
    serdeError(() => i.serialize(2147483648), /int serde: .*outside the 32-bit range/);
    serdeError(() => i.serialize(0.5), /not an integer/);
    serdeError(() => i.deserialize(fromHex('0000000001')), /expected 4 bytes, got 5/);
  });
});

describe('double serde (Kafka DoubleSerializer)', () => {
  const d = serdeFor('double');
  it('writes 8-byte IEEE 754 big-endian', () => {
    assert.equal(hex(d.serialize(1.5)), '3ff8000000000000');
    assert.equal(hex(d.serialize(-2)), 'c000000000000000');
    assert.equal(hex(d.serialize(0)), '0000000000000000');
    assert.equal(d.deserialize(fromHex('3ff8000000000000')), 1.5);
    assert.equal(d.deserialize(d.serialize(0.1)), 0.1);
    assert.equal(hex(d.serialize('1.5')), '3ff8000000000000');
  });
  it('refuses to write NaN and ±Infinity, which nothing else in Duality can carry', () => {
    serdeError(() => d.serialize(Infinity), /double serde: cannot encode number Infinity: not a finite number/);
    serdeError(() => d.serialize(NaN), /not a finite number/);
    serdeError(() => d.serialize('-Infinity'), /double serde: cannot encode the string "-Infinity": expected a number/);
    assert.ok(Number.isNaN(d.deserialize(fromHex('7ff8000000000000'))));
    // The store cache's shortcut past the serde must not keep one either: it fails at the put.
    for (const serde of ['double', 'json'] as const) for (const n of [NaN, Infinity]) assert.equal(canonicalValue(serde)(n), NOT_CANONICAL);
  });
  it('refuses non-numbers and wrong lengths', () => {
    serdeError(() => d.serialize('abc'), /double serde: .*expected a number/);
    serdeError(() => d.serialize({}), /expected a number/);
    serdeError(() => d.deserialize(fromHex('3ff8')), /expected 8 bytes, got 2/);
  });
});

describe('bytes serde', () => {
  const b = serdeFor('bytes');
  it('passes bytes through unchanged', () => {
    const raw = Buffer.from([0, 255, 7]);
    assert.equal(b.serialize(raw), raw);
    assert.equal(hex(b.serialize(new Uint8Array([1, 2]))), '0102');
    assert.ok(Buffer.isBuffer(b.deserialize(raw)));
    assert.equal(hex(b.deserialize(raw) as Buffer), '00ff07');
  });
  it('takes a string as base64, so bytes that went through JSON come back the same', () => {
    const json = serdeFor('json');
    const text = json.deserialize(json.serialize(Buffer.from([0, 255, 7])));
    assert.equal(text, 'AP8H');
    assert.equal(hex(b.serialize(text)), '00ff07');
    assert.equal(hex(b.serialize('aGk')), '6869');
  });
  it('refuses strings that are not base64 and other values', () => {
    serdeError(() => b.serialize('not base64!'), /bytes serde: .*must be base64/);
    serdeError(() => b.serialize(12), /expected bytes or a base64 string/);
  });
});

describe('serdeFor', () => {
  it('names the known serdes for an unknown one', () => {
    serdeError(() => serdeFor('xml' as never), /xml serde: unknown serde; expected one of string, json, long, int, double, bytes/);
  });
  it('says the Schema Registry serdes need a registry', () => {
    serdeError(() => serdeFor('avro'), /avro serde: needs a Schema Registry/);
  });
});

describe('short text takes a shortcut with the same bytes', () => {
  const s = serdeFor('string');
  const j = serdeFor('json');
  const texts = ['', 'a', 'w1a', 'exactly12chr', 'thirteen char', 'x'.repeat(64), 'y'.repeat(65), 'quote"', 'back\\slash', 'tab\t', 'del\u007f', 'é', 'a\uD800', '🌵'];
  it('string and json serialize exactly as Buffer.from and JSON.stringify do, and read back', () => {
    for (const t of texts) {
      assert.equal(hex(s.serialize(t)), Buffer.from(t, 'utf8').toString('hex'), JSON.stringify(t));
      assert.equal(hex(j.serialize(t)), Buffer.from(JSON.stringify(t), 'utf8').toString('hex'), JSON.stringify(t));
      assert.equal(s.deserialize(s.serialize(t)), Buffer.from(t, 'utf8').toString('utf8'));
      assert.equal(j.deserialize(j.serialize(t)), JSON.parse(JSON.stringify(t)));
    }
  });
  it('reads escapes, non-ASCII and malformed bytes as JSON.parse and toString do', () => {
    assert.equal(j.deserialize(Buffer.from('"a\\u0041"')), 'aA');
    assert.equal(j.deserialize(Buffer.from('"\\"q"')), '"q');
    assert.equal(j.deserialize(Buffer.from('"é"')), 'é');
    serdeError(() => j.deserialize(Buffer.from('"a"b"')), /not valid JSON/);
    serdeError(() => j.deserialize(Buffer.from('"a\tb"')), /not valid JSON/);
    assert.equal(s.deserialize(fromHex('61ff')), 'a\uFFFD');
  });
  it('buffers handed out earlier keep their bytes while many more are made', () => {
    const kept = Array.from({ length: 50_000 }, (_, i) => [i, s.serialize(`k${i}`)!, j.serialize(`v${i}`)!, serdeFor('long').serialize(i)!] as const);
    for (const [i, k, v, l] of kept) {
      assert.equal(k.toString(), `k${i}`);
      assert.equal(v.toString(), `"v${i}"`);
      assert.equal(l.readBigInt64BE(0), BigInt(i));
    }
  });
});
