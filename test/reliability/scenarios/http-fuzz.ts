import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../root.js';
import { TOPOLOGY as APP_TEST_TOPOLOGY } from '../../server/harness.js';
import { Instance } from '../instance.js';
import { RssSampler } from '../rss.js';
import { outcome, type Scenario } from '../scenario.js';
import { schemathesis } from '../schemathesis.js';

const TOKEN = 'fuzz-token';

/** A topology to fuzz: a file of topologies/, or `apptest` (the HTTP tests' own: long keys, sessions, a source table). */
function topologyFile(name: string, dir: string): string {
  if (name !== 'apptest') return join(ROOT, 'topologies', `${name}.yaml`);
  const file = join(dir, 'apptest.yaml');
  writeFileSync(file, APP_TEST_TOPOLOGY);
  return file;
}

export const scenario: Scenario = {
  name: 'http-fuzz',
  order: 60,
  what: 'schemathesis sends generated requests (valid, invalid, unknown methods; with and without DUALITY_API_TOKEN) to running instances; no 5xx, every answer as /openapi.json describes it, memory bounded',
  mirrors: 'API fuzzing as RESTler / schemathesis runs in CI (OWASP API security testing); Kafka Streams has no HTTP API of its own',
  options: {
    requests: { default: '3000', help: 'requests to send at least; rounds of schemathesis run until they are sent (and one round per topology)' },
    topologies: { default: 'apptest,wordcount,sales-per-product', help: 'topologies fuzzed in turn, a round each: files of topologies/ or apptest' },
    examples: { default: '100', help: 'test cases per operation in one round (schemathesis --max-examples)' },
    seed: { default: '1', help: 'seed of the first round, the next ones count up' },
    'round-timeout': { default: '300', help: 'seconds one round may take before it counts as hung' },
    'max-rss-mb': { default: '1024', help: 'the resident memory an instance may reach' },
  },
  // What npm test ran as test/server/schemathesis.test.ts: the app test topology, seeds 1 and 2, without a token and with one.
  short: { requests: '1000', topologies: 'apptest', examples: '60', 'round-timeout': '150' },

  async run({ options, workDir, say }) {
    const wanted = Number(options.requests);
    const names = options.topologies!.split(',').map((s) => s.trim()).filter(Boolean);
    let requests = 0, serverErrors = 0, nonconforming = 0, crashes = 0, hangs = 0, peakRss = 0, rounds = 0, loggedFailures = 0;
    const failures: string[] = [];
    const began = Date.now();
    // Every topology gets a round, and one round at least has a token.
    while (requests < wanted || rounds < Math.max(2, names.length)) {
      const name = names[rounds % names.length]!;
      // Every other round with a token: the guarded routes answer 401 without one, and the fuzzer sends one.
      const token = rounds % 2 === 1 ? TOKEN : undefined;
      const seed = Number(options.seed) + rounds;
      const dir = join(workDir, `round-${rounds}`);
      mkdirSync(dir);
      const instance = new Instance([topologyFile(name, dir), '--port', '0', '--state-dir', join(dir, 'state')], token === undefined ? {} : { DUALITY_API_TOKEN: token });
      const rss = new RssSampler(instance.child.pid!);
      try {
        const url = await instance.ready();
        const r = await schemathesis({ url, dir, seed, examples: Number(options.examples), token, killAfterMs: Number(options['round-timeout']) * 1000 });
        say(`round ${rounds + 1}: ${name}${token ? ' with a token' : ''}, seed ${seed}: ${r.requests} requests, ${r.serverErrors} 5xx, ${r.nonconforming} nonconforming, exit ${r.code}`);
        requests += r.requests;
        serverErrors += r.serverErrors;
        nonconforming += r.nonconforming;
        if (r.killed) hangs++;
        if (r.code !== 0 || r.killed) failures.push(`round ${rounds + 1} (${name}, seed ${seed}): schemathesis ${r.killed ? 'killed after the round timeout' : `exit ${r.code}`}: ${r.findings.join('; ') || r.output.slice(-3000)}`);
        if (r.requests === 0) failures.push(`round ${rounds + 1} sent no request:\n${r.output.slice(-3000)}`);
        // A 500 is logged with its stack ("... failed: ..."), even when the answer reached no check.
        const logged = instance.stderr.match(/failed:.*/g) ?? [];
        loggedFailures += logged.length;
        if (logged.length > 0) failures.push(`round ${rounds + 1}: the server logged ${logged.slice(0, 3).join(' | ')}`);
        if (!instance.running) {
          crashes++;
          failures.push(`round ${rounds + 1}: duality run exited during the fuzzing:\n${instance.stderr.slice(-3000)}`);
        } else if ((await fetch(`${url}/healthz`).catch(() => undefined))?.status !== 200) failures.push(`round ${rounds + 1}: /healthz does not answer 200 after the fuzzing`);
      } finally {
        const code = await instance.stop('SIGTERM');
        peakRss = Math.max(peakRss, rss.stop());
        if (code !== 0 && !failures.some((f) => f.includes('exited during'))) failures.push(`round ${rounds + 1}: duality run exited ${code} on SIGTERM:\n${instance.stderr.slice(-2000)}`);
        rounds++;
      }
      if (failures.length > 0) break;
    }
    const seconds = Math.round((Date.now() - began) / 1000);
    return outcome(
      { requests, server_errors: serverErrors, nonconforming, crashes, hangs, peak_rss_mb: peakRss, rounds, seconds },
      [
        [requests >= wanted, `${requests} requests sent, fewer than ${wanted}`],
        [serverErrors === 0, `${serverErrors} answers with a 5xx status`],
        [nonconforming === 0, `${nonconforming} answers the description does not allow`],
        [crashes === 0 && hangs === 0, `${crashes} crashes, ${hangs} hung rounds`],
        [loggedFailures === 0, `${loggedFailures} failures in the servers' logs`],
        [peakRss <= Number(options['max-rss-mb']), `an instance reached ${peakRss} MB resident, over ${options['max-rss-mb']} MB`],
        ...failures.map((f): [boolean, string] => [false, f]),
      ],
    );
  },
};
