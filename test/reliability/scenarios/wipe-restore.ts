import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from '../instance.js';
import { wholeNumbers } from '../options.js';
import { outcome, type Scenario, type ScenarioContext } from '../scenario.js';
import { expectedCounts, settle, startInstance, TABLE, tableContents, wordcountApp, lineWriter } from '../wordcount.js';
import { BROKERS_OPTION, brokersFor, connectLog as connect } from '../kafka.js';

/** Lines written per producer flush while loading the input. */
const BATCH = 5000;

/** The sum of a counter's samples in a /metrics page (every label set). */
function metricSum(page: string, name: string): number {
  let sum = 0;
  for (const l of page.split('\n')) if (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

/** Entries that differ between two dumps of a table: missing, extra or with another value. */
function differing(before: Map<string, unknown>, after: Map<string, unknown>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k))).map((k) => `${k}: ${JSON.stringify(before.get(k))} before, ${JSON.stringify(after.get(k))} after`);
}

export const scenario: Scenario = {
  name: 'wipe-restore',
  order: 30,
  what: "an instance's state directory deleted while it is stopped, then started again: time to ready and restore rate measured, the table through the HTTP API must be the same as before",
  mirrors: "Kafka Streams' RestoreIntegrationTest / a lost disk or a pod rescheduled without its volume (state rebuilt from the changelog topics)",
  options: {
    brokers: BROKERS_OPTION,
    records: { default: '200000', help: 'input lines (three words each), all written before the wipe' },
    keys: { default: '50000', help: 'distinct words: the table\'s size' },
    instances: { default: '1', help: '`duality run` processes; the last one is wiped (with more, the others keep serving and take its tasks while it is down)' },
    partitions: { default: '4', help: 'partitions of the input and output topics' },
    'settle-seconds': { default: '600', help: 'longest wait for the application to process the input' },
  },
  async run({ options, workDir, say }: ScenarioContext) {
    const began = Date.now();
    const { records, keys, instances: count, partitions, 'settle-seconds': settleSeconds } = wholeNumbers(options, ['records', 'keys', 'instances', 'partitions', 'settle-seconds']);
    const brokers = await brokersFor(options.brokers!, say);
    const log = await connect(brokers);
    const instances: { dir: string; run: Instance }[] = [];
    try {
      const app = await wordcountApp(log, workDir, `rel-wipe-${Date.now().toString(36)}`, 'at_least_once', partitions);
      for (let i = 0; i < count; i++) {
        const dir = join(workDir, `state-${i}`);
        instances.push({ dir, run: startInstance(app, brokers, dir) });
      }
      const urls = await Promise.all(instances.map((i) => i.run.ready()));
      const lines: string[] = [];
      const writer = lineWriter(log, app.input, keys);
      try {
        while (lines.length < records) lines.push(...(await writer.write(lines.length, Math.min(BATCH, records - lines.length))));
      } finally {
        await writer.close();
      }
      say(`${lines.length} lines written; waiting for the application to process them`);
      const settled = await settle(log, app, instances, settleSeconds);
      if (settled !== undefined) return outcome({ records }, [[false, `the application did not commit all its input within ${settleSeconds} s: ${settled}`]]);

      const before = await tableContents(urls[0]!, TABLE);
      const expected = expectedCounts(lines);
      const wrongBefore = differing(new Map([...expected].map(([w, n]) => [w, n])), before);

      const wiped = instances.at(-1)!;
      await wiped.run.stop('SIGTERM', 60_000);
      rmSync(wiped.dir, { recursive: true, force: true });
      say(`instance ${count - 1} stopped and its state directory removed; starting it again`);
      const restarted = Date.now();
      wiped.run = startInstance(app, brokers, wiped.dir);
      const url = await wiped.run.ready(settleSeconds * 1000);
      const readySeconds = (Date.now() - restarted) / 1000;
      const restored = metricSum(await (await fetch(`${url}/metrics`)).text(), 'duality_restored_records_total');
      // The restore's own last lines (one per assignment) give its rate over the replay alone, without the group join.
      const said = [...`${wiped.run.stdout}\n${wiped.run.stderr}`.matchAll(/restore: ([\d,]+) of [\d,]+ records \(100 %\), [\d,]+ records\/s, done in ([\d.]+) s/g)];
      const replayed = said.reduce((n, m) => n + Number(m[1]!.replaceAll(',', '')), 0);
      const replaySeconds = said.reduce((n, m) => n + Number(m[2]), 0);
      const restoreRate = replaySeconds > 0 ? replayed / replaySeconds : restored / readySeconds;

      const after = await tableContents(count > 1 ? urls[0]! : url, TABLE);
      const changed = differing(before, after);
      const figures = {
        differing: changed.length,
        entries: after.size,
        restored,
        ready_s: readySeconds.toFixed(1),
        restore_s: said.length > 0 ? replaySeconds.toFixed(1) : 'not said',
        restore_rate: Math.round(restoreRate),
        records: lines.length,
        seconds: Math.round((Date.now() - began) / 1000),
      };
      return outcome(figures, [
        [wrongBefore.length === 0, `before the wipe the table already differed from the input's counts in ${wrongBefore.length} entries: ${wrongBefore.slice(0, 5).join('; ')}`],
        [changed.length === 0, `${changed.length} entries differ after the restore: ${changed.slice(0, 10).join('; ')}`],
        [restored > 0, 'the wiped instance restored nothing: it was given no task with state'],
      ]);
    } finally {
      await Promise.all(instances.map((i) => i.run.stop('SIGTERM').catch(() => i.run.stop('SIGKILL'))));
      await log.close();
    }
  },
};
