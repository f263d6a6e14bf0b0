/**
 * The short versions of the reliability scenarios that have one (docs/reliability.md), run by
 * `npm test` and so by CI: against the test broker (KAFKA_BROKERS) where a scenario talks to Kafka.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFigures } from './scenario.js';
import { loadScenarios, runScenario } from './scenarios.js';

for (const s of (await loadScenarios()).filter((x) => x.short !== undefined)) {
  test(`reliability ${s.name} (short): ${s.what}`, { timeout: 600_000 }, async () => {
    const o = await runScenario(s, s.short!, (l) => console.log(l));
    assert.ok(o.passed, `${formatFigures(o.figures)}\n${o.failures.join('\n')}`);
  });
}
