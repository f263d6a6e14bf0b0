/**
 * Connections to the broker cut in the middle of a request (a network that drops them, a proxy
 * restarted), on the real broker: KafkaLog must take it for a lost broker that may come back (the
 * engine then waits and tries again, saying so in /readyz), never for an error that stops Duality.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import type { ISocketFactory } from 'kafkajs';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { BROKERS, connectBroker } from './kafka-helpers.js';

const METADATA = 3;

const { broker, missing } = await connectBroker('duality-cut-connections-test');
await broker?.close();

test('a metadata request whose connection is cut is a retriable failure (kafkajs gives null; its admin fails on it)', { timeout: 60_000 }, async () => {
  if (missing) assert.fail(missing);
  // Real connections to the broker. Once armed, the connection that sends the second Metadata
  // request is cut as it sends it (a request's first bytes: its size, then its API key): kafkajs's
  // listTopics first refreshes its metadata (that one passes), then asks a broker for it.
  let armed = false;
  let metadataRequests = 0;
  const sockets: Socket[] = [];
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port }, onConnect);
    sockets.push(socket);
    const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (armed && Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === METADATA && ++metadataRequests === 2) {
        armed = false;
        // As kafkajs sees a connection reset by the other side (the proxy of the broker-faults scenario).
        socket.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' }));
        return false;
      }
      return write(chunk, ...rest);
    }) as Socket['write'];
    return socket;
  };
  const log = await KafkaLog.connect({ brokers: BROKERS, clientId: 'duality-cut-connections-test', logger: () => undefined, socketFactory });
  try {
    armed = true;
    // createTopics of nothing: only kafkajs's listTopics (what the engine asks before creating its topics).
    const failure = await log.createTopics([]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(armed, false, 'the metadata request was sent, and cut');
    assert.ok(failure instanceof Error, 'the cut request fails');
    assert.equal(log.retriable(failure), true, `retriable: ${failure.message}`);
    assert.match(failure.message, /no broker of .* answered a metadata request/);
    // The broker is still there: the next request goes through.
    assert.deepEqual(await log.createTopics([]), []);
  } finally {
    await log.close();
    for (const s of sockets) s.destroy();
  }
});
