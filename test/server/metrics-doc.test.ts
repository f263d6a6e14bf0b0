import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT } from '../root.js';
import { eventually, startEngine } from './harness.js';

// A window (late records dropped) and a stream-table join (records without a value dropped).
const TOPOLOGY = `version: 1
name: metricsdoc
streams:
  clicks:
    topic: clicks
    key: string
    value: json
  enriched:
    from: clicks
    steps:
      - join:
          with: users
          value: '{"page": left.page, "region": right.region}'
    to: enriched-clicks
tables:
  users:
    topic: users
    key: string
    value: json
  clicks-per-minute:
    from: clicks
    steps:
      - groupByKey
      - window: {type: tumbling, size: 1m}
      - count
`;

/** Metrics whose labels the test cannot see, each with why: it has no series here. */
const NO_SERIES: Record<string, string> = {
  // The embedded log's group has one member, this process: standby copies need another instance.
  // test/kafka/standby-kafka.test.ts scrapes this metric, labels included, on Kafka.
  duality_standby_lag_records: 'no standby copy on the embedded log',
};

interface Row {
  readonly type: string;
  readonly labels: string[];
}

/** docs/metrics.md's table: metric name → type and label names. */
function documented(): Map<string, Row> {
  const text = readFileSync(`${ROOT}docs/metrics.md`, 'utf8');
  const rows = new Map<string, Row>();
  for (const m of text.matchAll(/^\| `(duality_\w+)` \| (\w+) \|([^|]*)\|/gm)) {
    rows.set(m[1]!, { type: m[2]!, labels: [...m[3]!.matchAll(/`(\w+)`/g)].map((l) => l[1]!).sort() });
  }
  return rows;
}

/** What /metrics shows: name → type and the label names of its series (histograms' `le` left out). */
function scraped(text: string): Map<string, { type: string; labels: Set<string> | undefined }> {
  const out = new Map<string, { type: string; labels: Set<string> | undefined }>();
  for (const m of text.matchAll(/^# TYPE (\w+) (\w+)$/gm)) out.set(m[1]!, { type: m[2]!, labels: undefined });
  for (const m of text.matchAll(/^(\w+?)(_bucket|_sum|_count)?(?:\{([^}]*)\})? \S+$/gm)) {
    const metric = out.get(m[1]! + (m[2] ?? '')) ?? out.get(m[1]!);
    if (!metric) continue;
    metric.labels ??= new Set();
    for (const l of (m[3] ?? '').matchAll(/(\w+)="/g)) if (l[1] !== 'le') metric.labels.add(l[1]!);
  }
  return out;
}

test("docs/metrics.md lists every metric /metrics shows, with its type and labels, and nothing it does not show", async () => {
  const running = await startEngine(TOPOLOGY);
  try {
    const url = await running.serve();
    const post = async (topic: string, records: unknown[]): Promise<void> => {
      const r = await fetch(`${url}/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
      assert.equal(r.status, 200, await r.text());
    };
    await post('users', [{ key: 'u1', value: { region: 'eu' } }]);
    // The second click's window closed when the first moved stream time 10 minutes on; the third has no value.
    await post('clicks', [{ key: 'u1', value: { page: '/a' }, timestamp: 600_000 }, { key: 'u1', value: { page: '/b' }, timestamp: 0 }, { key: 'u1', value: null, timestamp: 600_001 }]);
    assert.equal((await fetch(`${url}/tables/users/keys/nobody`)).status, 404);
    const text = await eventually('both kinds of drops and a commit in /metrics', async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      const ok = /^duality_dropped_records_total\{[^}]*reason="late"[^}]*\} 1$/m.test(t) && /reason="null-key-or-value"/.test(t) && /^duality_commit_duration_seconds_count [1-9]/m.test(t);
      return ok ? t : undefined;
    });

    const doc = documented();
    const shown = scraped(text);
    const ours = [...shown.keys()].filter((n) => n.startsWith('duality_')).sort();
    assert.deepEqual(ours, [...doc.keys()].sort(), 'the metrics named duality_* that /metrics shows are those docs/metrics.md lists');
    for (const [name, row] of doc) {
      const got = shown.get(name)!;
      assert.equal(got.type, row.type, `${name}: its type`);
      if (name in NO_SERIES) {
        assert.equal(got.labels, undefined, `${name} has series here now: check its labels (${NO_SERIES[name]})`);
        continue;
      }
      assert.ok(got.labels !== undefined, `${name} has no series to check its labels on`);
      assert.deepEqual([...got.labels].sort(), row.labels, `${name}: its labels`);
    }
    // The rest are prom-client's, which the doc names by prefix.
    const docText = readFileSync(`${ROOT}docs/metrics.md`, 'utf8');
    for (const name of shown.keys()) if (!name.startsWith('duality_')) assert.match(name, /^(process|nodejs)_/, `${name} is neither Duality's nor a process metric the doc names`);
    assert.ok(docText.includes('`process_*`') && docText.includes('`nodejs_*`'));

    // A route's pattern, never its path: no key in a label.
    assert.match(text, /^duality_http_request_duration_seconds_count\{route="\/tables\/\{table\}\/keys\/\{key\}",method="GET",status="404"\} 1$/m);
    assert.match(text, /^duality_http_request_duration_seconds_count\{route="\/topics\/\{topic\}\/records",method="POST",status="200"\} 2$/m);
    assert.doesNotMatch(text, /nobody|route="\/topics\/clicks/);
  } finally {
    await running.close();
  }
});
