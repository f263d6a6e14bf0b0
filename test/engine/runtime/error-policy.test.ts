/**
 * What the error policy does with a record whose processing failed: a bad record goes where the
 * policy says; a store that cannot be read is no bad record, whatever the policy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { LogRecord } from '../../../engine/api/log.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { ErrorPolicy } from '../../../engine/runtime/error-policy.js';
import { ProcessingError } from '../../../engine/runtime/errors.js';
import { openLevel } from '../../../engine/state/leveldb-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'duality-policy-'));
  dirs.push(d);
  return d;
};

const record: LogRecord = { topic: 'in', partition: 0, offset: 7, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1, headers: {} };

/** The error LevelDB gives when a table file it reads is damaged (a bad sector, a stray write). */
async function corruptionError(): Promise<unknown> {
  const path = join(tempDir(), 'store');
  let db = await openLevel(path, 'counts');
  await db.batch(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`key${i}`), value: Buffer.alloc(100, i) })));
  await db.close();
  // Reopening turns the write-ahead log into a table file.
  db = await openLevel(path, 'counts');
  await db.close();
  const table = readdirSync(path).filter((f) => f.endsWith('.ldb')).sort((a, b) => statSync(join(path, b)).size - statSync(join(path, a)).size)[0]!;
  const bytes = readFileSync(join(path, table));
  for (let i = 0; i < bytes.length; i += 512) bytes[i]! ^= 0x5a;
  writeFileSync(join(path, table), bytes);
  db = await openLevel(path, 'counts');
  try {
    for (let i = 0; i < 20_000; i++) await db.get(Buffer.from(`key${i}`));
  } catch (e) {
    return e;
  } finally {
    await db.close();
  }
  throw new Error('reading the damaged table gave no error');
}

for (const policy of ['dlq', 'skip'] as const) {
  test(`under ${policy}, a store LevelDB cannot read stops processing, and no record goes to the dead-letter topic`, async () => {
    const log = await EmbeddedLog.open(join(tempDir(), 'log'));
    await log.createTopics([{ name: 'app-dlq', partitions: 1 }]);
    const producer = log.producer();
    const said: string[] = [];
    const errorPolicy = new ErrorPolicy(policy, 'app-dlq', (l) => said.push(l));
    const failure = await corruptionError();
    assert.throws(
      () => errorPolicy.handle(failure, record, '0_0', 'counts.2.count', { send: (r) => producer.send([r]) }),
      (e: ProcessingError) => {
        assert.ok(e instanceof ProcessingError);
        assert.equal(e.errorCode, 'STORE');
        assert.match(e.message, /task 0_0, node counts\.2\.count, record in-0@7/);
        return true;
      },
    );
    await producer.flush();
    assert.deepEqual(await log.endOffsets('app-dlq'), [0]);
    assert.deepEqual(said, []);
    await producer.close();
    await log.close();
  });
}

test('a bad record goes to the dead-letter topic with why and where', async () => {
  const log = await EmbeddedLog.open(join(tempDir(), 'log'));
  await log.createTopics([{ name: 'app-dlq', partitions: 1 }]);
  const producer = log.producer();
  const errorPolicy = new ErrorPolicy('dlq', 'app-dlq', () => undefined);
  errorPolicy.handle(Object.assign(new Error('no such field'), { code: 'EXPRESSION' }), record, '0_0', 'counts.0.filter', { send: (r) => producer.send([r]) });
  await producer.flush();
  const [sent] = await log.read({ topic: 'app-dlq', partition: 0 }, 0, 10);
  assert.equal(sent!.value!.toString(), 'v');
  assert.equal(sent!.headers['__streams.errors.exception']!.toString(), 'EXPRESSION');
  assert.equal(sent!.headers['__streams.errors.offset']!.toString(), '7');
  await producer.close();
  await log.close();
});
