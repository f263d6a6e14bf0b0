/**
 * The kafkajs ceiling, in a process of its own (as Duality runs in one):
 *   node dist/bench/kafka/kafkajs-consume.js BROKERS TOPIC GROUP_ID RECORDS
 * consumes TOPIC from the beginning in a fresh group with an empty handler (it only counts) and
 * prints `joined <epoch ms>` when the group assigned it partitions and `done <epoch ms>` once
 * RECORDS records were read. Nothing is committed: this is what the client alone can read.
 *
 * kafkajs is the engine's (engine/kafka/kafkajs.ts), whose batches keep their records as bytes
 * until they are taken: each record is decoded into the engine's LogRecord, as Duality's consumer
 * takes them, so that the ceiling still reads every record.
 */
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { FetchedBatch } from '../../engine/kafka/fetched-batch.js';

const [brokers, topic, groupId, wanted] = process.argv.slice(2);
if (!brokers || !topic || !groupId || !wanted) {
  console.error('usage: kafkajs-consume.js BROKERS TOPIC GROUP_ID RECORDS');
  process.exit(2);
}
const total = Number(wanted);
const kafka = new kafkajs.Kafka({ clientId: groupId, brokers: brokers.split(','), logLevel: kafkajs.logLevel.ERROR });
const consumer = kafka.consumer({ groupId });
consumer.on(consumer.events.GROUP_JOIN, () => console.log(`joined ${Date.now()}`));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let read = 0;
await new Promise<void>((resolve, reject) => {
  consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      read += (batch as unknown as FetchedBatch).records().length;
      if (read >= total) resolve();
    },
  });
});
console.log(`done ${Date.now()}`);
await consumer.disconnect();
