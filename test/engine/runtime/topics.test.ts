/**
 * What the engine creates before it runs, and what it refuses, on a real embedded log: missing
 * topics with their documented partition counts, `--no-create-topics`, and joined topics that are
 * not co-partitioned.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopologyFile } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { createdLine, planTopics } from '../../../engine/runtime/topics.js';
import { ROOT } from '../../root.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function fresh(): Promise<EmbeddedLog> {
  const dir = mkdtempSync(join(tmpdir(), 'duality-topics-'));
  dirs.push(dir);
  return EmbeddedLog.open(dir);
}

function topology(name: string): TopologyGraph {
  const { graph, diagnostics } = compileTopologyFile(join(ROOT, 'topologies', `${name}.yaml`));
  assert.ok(graph, diagnostics.map((d) => d.message).join('\n'));
  return graph;
}

/** Plans and creates as the engine's start does; returns the partitions of every topic and what was said. */
async function plan(graph: TopologyGraph, log: EmbeddedLog, createMissing = true): Promise<{ counts: Record<string, number>; said: string[] }> {
  const said: string[] = [];
  const p = await planTopics(graph, log, { createMissing });
  for (const t of await log.createTopics(p.create)) said.push(createdLine(t));
  const counts: Record<string, number> = {};
  for (const t of graph.topics) counts[t.name] = (await log.partitions(t.name))!;
  return { counts, said };
}

test('missing topics: sources get one partition, sinks and the DLQ those of their writers, internal topics those of their tasks', async () => {
  const log = await fresh();
  const graph = topology('wordcount');
  await log.createTopics([{ name: 'TextLinesTopic', partitions: 3 }]);
  const { counts, said } = await plan(graph, log);
  assert.deepEqual(counts, {
    TextLinesTopic: 3,
    WordsWithCountsTopic: 3,
    'wordcount-word-counts-repartition': 3,
    'wordcount-word-counts-changelog': 3,
    'wordcount-dlq': 3,
  });
  assert.deepEqual(said, [
    'created repartition topic wordcount-word-counts-repartition with 3 partitions',
    'created sink topic WordsWithCountsTopic with 3 partitions',
    'created dlq topic wordcount-dlq with 3 partitions',
    'created changelog topic wordcount-word-counts-changelog with 3 partitions (cleanup.policy=compact)',
  ]);

  const empty = await fresh();
  const created = await plan(graph, empty);
  assert.equal(created.counts.TextLinesTopic, 1);
  assert.ok(created.said.includes('created source topic TextLinesTopic with 1 partition'), created.said.join('\n'));
  await log.close();
  await empty.close();
});

test('--no-create-topics: missing topics are an error that lists each with its role; nothing is created', async () => {
  const log = await fresh();
  const graph = topology('wordcount');
  await log.createTopics([{ name: 'WordsWithCountsTopic', partitions: 1 }]);
  await assert.rejects(plan(graph, log, false), {
    message: '2 topics do not exist: TextLinesTopic (source), wordcount-dlq (dlq); create them, or run without --no-create-topics to have them created',
  });
  assert.equal(await log.partitions('TextLinesTopic'), undefined);
  await log.close();
});

test('joined topics must be co-partitioned: unequal partition counts stop the start, naming the topics; a missing side takes the others\' count', async () => {
  const graph = topology('click-enrichment');
  assert.deepEqual(graph.copartitionGroups, [['clicks', 'users', 'accounts']]);
  const log = await fresh();
  await log.createTopics([
    { name: 'clicks', partitions: 4 },
    { name: 'users', partitions: 2 },
  ]);
  await assert.rejects(plan(graph, log), (e: Error) => {
    assert.match(e.message, /^topics clicks \(4 partitions\) and users \(2 partitions\) and accounts \(4 partitions\) are joined but not co-partitioned/);
    return true;
  });

  const ok = await fresh();
  await ok.createTopics([{ name: 'users', partitions: 2 }]);
  const { counts } = await plan(graph, ok);
  assert.equal(counts.clicks, 2);
  assert.equal(counts.accounts, 2);
  await log.close();
  await ok.close();
});

test('the engine says each topic it creates, internal ones too, and only once', async () => {
  const graph = topology('wordcount');
  const log = await fresh();
  const stateDir = mkdtempSync(join(tmpdir(), 'duality-topics-state-'));
  dirs.push(stateDir);
  for (const round of [1, 2]) {
    const said: string[] = [];
    const engine = new Engine({ graph, log, stateDir, logger: (l) => said.push(l) });
    await engine.start();
    await engine.stop();
    const created = said.filter((l) => l.includes('created'));
    assert.deepEqual(
      created,
      round === 1
        ? [
            'duality: created source topic TextLinesTopic with 1 partition',
            'duality: created repartition topic wordcount-word-counts-repartition with 1 partition',
            'duality: created sink topic WordsWithCountsTopic with 1 partition',
            'duality: created dlq topic wordcount-dlq with 1 partition',
            'duality: created changelog topic wordcount-word-counts-changelog with 1 partition (cleanup.policy=compact)',
          ]
        : [],
      `round ${round}`,
    );
  }
  await log.close();
});
