import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey, Partitioner } from '../../../engine/log/partitioner.js';

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
  it('hashes bytes above 0x7f as Java\'s `& 0xff` does, in whole blocks and in every tail length', () => {
    // Utils.murmur2 of kafka-clients 4.4.0, run in jshell on these bytes (Kafka's own vectors are ASCII only).
    const java: [number[], number][] = [
      [[0xff], -311467685],
      [[0xff, 0xff], -1642832928],
      [[0x80, 0x81, 0xfe], 796990047],
      [[0xff, 0xfe, 0xfd, 0xfc], 2136149935],
      [[0xff, 0x80, 0x01, 0xfe, 0x90], -41778688],
      [[], 275646681],
    ];
    for (const [bytes, hash] of java) assert.equal(murmur2(Buffer.from(bytes)), hash, `[${bytes.map((b) => b.toString(16))}]`);
    assert.equal(murmur2(utf8('café')), -1358007374, 'UTF-8 bytes of a non-ASCII key');
  });
});

describe('partitionForKey', () => {
  it('puts keys in the partitions Kafka\'s Java producer puts them in', () => {
    // BuiltInPartitioner.partitionForKey of kafka-clients 4.4.0 (the default partitioner of a keyed
    // record), run in jshell, for 6, 4 and 10 partitions. bob, frank and 21 hash negative: there
    // toPositive and Math.abs disagree.
    const java: [string, number, number, number][] = [
      ['alice', 3, 1, 9],
      ['bob', 0, 2, 8],
      ['carol', 2, 2, 2],
      ['dave', 4, 2, 8],
      ['erin', 2, 0, 8],
      ['frank', 1, 3, 7],
      ['user-7', 2, 0, 4],
      ['21', 0, 0, 0],
      ['abc', 3, 3, 7],
    ];
    for (const [key, ...partitions] of java) {
      assert.deepEqual([6, 4, 10].map((n) => partitionForKey(utf8(key), n)), partitions, key);
    }
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
