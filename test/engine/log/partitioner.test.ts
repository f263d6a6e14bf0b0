import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey, Partitioner, toPositive } from '../../../engine/log/partitioner.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('murmur2', () => {
  // Kafka's UtilsTest.testMurmur2 vectors: every tail length (0-3 bytes) and multi-block keys.
  const kafka: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of kafka) {
    it(`"${key}" hashes to ${hash} as in Kafka`, () => assert.equal(murmur2(utf8(key)), hash));
  }
  it('matches other Kafka clients on more keys', () => {
    // kafka_ex's compatibility vectors.
    assert.equal(murmur2(utf8('rule')), -1673595344);
    assert.equal(murmur2(utf8('monkey')), 385264353);
    assert.equal(murmur2(utf8('hover')), -1982829826);
    assert.equal(murmur2(utf8('necklace')), -515547202);
  });
  it('hashes bytes above 0x7f as unsigned, like Java\'s `& 0xff`', () => {
    const a = murmur2(Buffer.from([0xff, 0x80, 0x01, 0xfe, 0x90]));
    assert.equal(a, murmur2(new Uint8Array([0xff, 0x80, 0x01, 0xfe, 0x90])));
    assert.notEqual(a, murmur2(Buffer.from([0x7f, 0x00, 0x01, 0x7e, 0x10])));
  });
});

describe('partitionForKey', () => {
  it('takes the positive hash modulo the partition count', () => {
    assert.equal(toPositive(-973932308), 1173551340);
    assert.equal(partitionForKey(utf8('21'), 10), 1173551340 % 10);
    assert.equal(partitionForKey(utf8('abc'), 3), 479470107 % 3);
    assert.equal(partitionForKey(utf8('anything'), 1), 0);
  });
  it('spreads keys over every partition', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(partitionForKey(utf8(`key-${i}`), 8));
    assert.equal(seen.size, 8);
  });
});

describe('Partitioner', () => {
  it('sends the same key to the same partition every time', () => {
    const p = new Partitioner();
    const first = p.partition('t', utf8('user-7'), 6);
    for (let i = 0; i < 5; i++) assert.equal(p.partition('t', utf8('user-7'), 6), first);
  });
  it('spreads keyless records round-robin, counting per topic', () => {
    const p = new Partitioner();
    assert.deepEqual([0, 1, 2, 3].map(() => p.partition('a', null, 3)), [0, 1, 2, 0]);
    assert.equal(p.partition('b', null, 3), 0);
  });
});
