/**
 * What the engine says while it waits for Kafka, with kafkajs's own errors: the wording of the
 * backoff lines and of the line that says processing resumes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from '../../../engine/kafka/kafkajs.js';
import { KafkaLog } from '../../../engine/kafka/kafka-log.js';
import { Health } from '../../../engine/runtime/health.js';

const { KafkaJSConnectionError, KafkaJSProtocolError } = kafkajs as unknown as {
  KafkaJSConnectionError: new (message: string) => Error;
  KafkaJSProtocolError: new (e: { type: string; code: number; retriable: boolean; message: string }) => Error;
};
const lost = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9');
const loading = new KafkaJSProtocolError({ type: 'GROUP_LOAD_IN_PROGRESS', code: 14, retriable: true, message: 'The coordinator is loading and hence can\'t process requests for this group' });

test('a broker lost, then a coordinator still loading when it is back: resuming says the broker answers again', async () => {
  // A log that is never connected: only its description and its reading of errors are used.
  const log = KafkaLog.create({ brokers: ['127.0.0.1:9'], clientId: 'health-test', logger: () => undefined });
  const said: string[] = [];
  const health = new Health(log, () => log.consumer('health-test'), (l) => said.push(l));
  const stopped = (): boolean => true;
  await health.backoff(0, lost, 'lost', stopped);
  await health.backoff(1, loading, 'lost', stopped);
  assert.equal(health.state, 'recovering');
  assert.match(health.problem ?? '', /^the group's coordinator on the broker is moving or loading; waiting for it; trying again in 1 s$/);
  health.running();
  assert.deepEqual(said, [
    'duality: lost kafka (127.0.0.1:9): Connection error: connect ECONNREFUSED 127.0.0.1:9; trying again in 0.5 s',
    "duality: the group's coordinator on the broker is moving or loading; waiting for it; trying again in 1 s",
    'duality: kafka (127.0.0.1:9) answers again; processing resumes',
  ]);
  await log.close();
});

test('a failure the broker answered (a fenced producer, a rebalance) resumes without saying the broker was lost', async () => {
  const log = KafkaLog.create({ brokers: ['127.0.0.1:9'], clientId: 'health-test', logger: () => undefined });
  const said: string[] = [];
  const health = new Health(log, () => log.consumer('health-test'), (l) => said.push(l));
  await health.backoff(0, loading, 'lost', () => true);
  health.running();
  assert.equal(said.at(-1), 'duality: processing resumes');
  assert.equal(health.problem, undefined);
  await log.close();
});
