/**
 * `npm run bench -- kafka-read [--records N]`: how fast the Kafka log's `read` (what a restore
 * uses) answers, on the broker at KAFKA_BROKERS or 127.0.0.1:9092 (`npm run kafka:start`):
 *  - a read at a partition's end, which must answer [] at once rather than wait for records, against
 *    a read of 100 records (ratio near 1: no long poll);
 *  - a restore's loop over a topic written in transactions, committed and aborted, in small reads.
 * The figures that tests once bounded by time live here (tests assert what was read).
 */
import kafkajs from '../engine/kafka/kafkajs.js';
import { KafkaLog } from '../engine/kafka/kafka-log.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--records');
  const records = i >= 0 ? Number(args[i + 1]) : 10_000;
  const log = await KafkaLog.connect({ brokers: BROKERS, clientId: 'bench-kafka-read', logger: () => undefined });
  const run = `${Date.now().toString(36)}`;
  const plain = `bench-read-${run}`;
  const tx = `bench-read-tx-${run}`;
  try {
    await log.createTopics([{ name: plain, partitions: 1 }, { name: tx, partitions: 1 }]);
    const p = log.producer();
    p.send(Array.from({ length: records }, (_, k) => ({ topic: plain, partition: 0, key: null, value: Buffer.from(`${k}`), timestamp: k })));
    await p.flush();
    await p.close();
    const tp = { topic: plain, partition: 0 };
    const atEnd = await median(20, () => log.read(tp, records, 10));
    const hundred = await median(20, () => log.read(tp, 0, 100));
    console.log(`read at the end of a partition: ${atEnd.toFixed(1)} ms (median of 20)`);
    console.log(`read of 100 records: ${hundred.toFixed(1)} ms (median of 20)`);
    console.log(`ratio read-at-end/read-100: ${(atEnd / hundred).toFixed(2)}`);

    // Transactions, committed and aborted in turn, as a changelog written under exactly_once holds them.
    const kp = new kafkajs.Kafka({ clientId: 'bench-read-tx', brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).producer({ transactionalId: `bench-read-${run}`, idempotent: true, maxInFlightRequests: 1 });
    await kp.connect();
    for (let k = 0; k < 100; k++) {
      const txn = await kp.transaction();
      await txn.send({ topic: tx, messages: Array.from({ length: 10 }, (_, m) => ({ value: `${k}.${m}` })) });
      await (k % 3 === 2 ? txn.abort() : txn.commit());
    }
    await kp.disconnect();
    const end = (await log.endOffsets(tx))[0]!;
    let kept = 0;
    const restore = await median(5, async () => {
      kept = 0;
      for (let offset = 0; offset < end; ) {
        const batch = await log.read({ topic: tx, partition: 0 }, offset, 50);
        if (batch.length === 0) break;
        kept += batch.length;
        offset = batch.at(-1)!.offset + 1;
      }
    });
    console.log(`restore loop over 100 transactions (a third aborted), reads of 50: ${restore.toFixed(1)} ms (median of 5), ${kept} records kept`);
    console.log(`ratio restore-loop/read-100: ${(restore / hundred).toFixed(2)}`);
  } finally {
    await log.deleteTopics([plain, tx]).catch(() => undefined);
    await log.close();
  }
}
