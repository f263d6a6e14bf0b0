import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KafkaLog } from '../../../engine/kafka/kafka-log.js';
import { SuiteBroker } from '../broker.js';
import { Instance } from '../instance.js';
import { endTotal, runId } from '../kafka.js';
import { DelayProxy } from '../proxy.js';
import { isReady, isRecovering, ReadyzPoller } from '../readiness.js';
import { outcome, type Scenario } from '../scenario.js';
import { checkCounts, connectQuietly, SteadyWriter, waitUntilCommitted, wordcount } from '../steady-wordcount.js';

const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Duality under exactly_once counts words of a steady keyed input while its broker fails three
 * ways, one after the other: stopped (SIGTERM) and started again; frozen (SIGSTOP) and thawed;
 * behind a TCP proxy that delays every chunk and cuts every connection a few times. Duality must
 * come back by itself each time, /readyz must say `recovering` during each outage and ready
 * after, and at the end the output, read read_committed, must be the counts recomputed from the
 * input: nothing lost, nothing doubled.
 *
 * The whole run goes through the proxy (the broker advertises its port), passing chunks on at once
 * except in the network phase: so during the stop a client's connection is accepted by the proxy
 * and closed at once, where without it the connection would be refused.
 */
export const scenario: Scenario = {
  name: 'broker-faults',
  order: 40,
  what: 'exactly_once wordcount while its broker is stopped, frozen (SIGSTOP) and behind a slow proxy that cuts connections: /readyz truthful, nothing lost or doubled',
  mirrors: "Kafka's system tests with broker failures (streams_broker_bounce_test.py: clean and hard bounces under exactly-once; Trogdor's ProcessStopFault and NetworkPartitionFault); Jepsen-style pauses (SIGSTOP)",
  options: {
    'outage-seconds': { default: '10', help: 'how long the broker stays stopped' },
    'freeze-seconds': { default: '15', help: 'how long the broker stays frozen; /readyz reports a silent broker after 10 s, so shorter freezes may pass unreported' },
    'latency-ms': { default: '200', help: 'what the proxy adds to every chunk, each way, in the network phase' },
    'network-seconds': { default: '30', help: 'how long the network phase lasts' },
    cuts: { default: '3', help: 'how many times the proxy drops every connection in the network phase' },
    rate: { default: '100', help: 'input lines a second' },
    partitions: { default: '3', help: 'partitions of the input topic' },
    'recover-seconds': { default: '120', help: 'how long Duality may take to be ready again after a fault' },
    'broker-port': { default: '39092', help: 'client port of the broker this scenario starts, stops and freezes (the next two too: controller, SASL)' },
  },
  async run({ options, workDir, say }) {
    const opt = (name: string): number => Number(options[name]);
    const recoverMs = opt('recover-seconds') * 1000;
    const proxy = await DelayProxy.start(opt('broker-port'));
    const broker = new SuiteBroker(opt('broker-port'), { advertisedPort: proxy.port });
    const brokers = `127.0.0.1:${proxy.port}`;
    let log: KafkaLog | undefined;
    let writer: SteadyWriter | undefined;
    let instance: Instance | undefined;
    let readyz: ReadyzPoller | undefined;
    try {
      say(`starting the broker on 127.0.0.1:${broker.port}, advertised through the proxy on ${brokers}`);
      await broker.start();
      log = await connectQuietly(brokers);
      const app = wordcount(`broker-faults-${runId()}`);
      await log.createTopics([{ name: app.input, partitions: opt('partitions') }]);
      const file = join(workDir, 'wordcount.yaml');
      writeFileSync(file, app.text);
      writer = new SteadyWriter(log, app.input, opt('rate'));
      instance = new Instance([file, '--brokers', brokers, '--port', '0', '--state-dir', join(workDir, 'state'), '--cache-max-bytes', '0', '--guarantee', 'exactly_once']);
      const url = await instance.ready();
      readyz = new ReadyzPoller(url);
      const polls = readyz;
      say(`duality ready at ${url}; input at ${opt('rate')} lines/s`);
      await sleep(5000);

      /** Waits for /readyz to answer 200 from `from` on; the time it did, or undefined after recover-seconds. */
      const readyAgain = async (from: number): Promise<number | undefined> => {
        for (const deadline = Date.now() + recoverMs; Date.now() < deadline; await sleep(250)) {
          const s = polls.first(from, isReady);
          if (s !== undefined) return s.at;
          if (!instance!.running) return undefined;
        }
        return undefined;
      };

      // (a) Stopped: a clean shutdown, down for outage-seconds, started again.
      say('(a) stopping the broker (SIGTERM)');
      const stopAt = Date.now();
      await broker.stop();
      const stoppedAt = Date.now();
      await sleep(opt('outage-seconds') * 1000);
      say('(a) starting the broker again');
      await broker.start();
      const answersAt = Date.now();
      const stopNotice = polls.first(stopAt, isRecovering, answersAt);
      const stopReady = await readyAgain(answersAt);
      say(`(a) noticed after ${stopNotice ? seconds(stopNotice.at - stopAt) : 'never'} s, ready ${stopReady ? seconds(stopReady - answersAt) : 'never'} s after the broker answered`);

      // (b) Frozen while Duality commits (every 100 ms under exactly_once): connections stay open, nothing answers.
      say(`(b) freezing the broker (SIGSTOP) for ${opt('freeze-seconds')} s`);
      const freezeAt = Date.now();
      broker.freeze();
      await sleep(opt('freeze-seconds') * 1000);
      broker.thaw();
      const thawAt = Date.now();
      const freezeNotice = polls.first(freezeAt, isRecovering, thawAt);
      const freezeReady = await readyAgain(thawAt);
      say(`(b) noticed after ${freezeNotice ? seconds(freezeNotice.at - freezeAt) : 'never'} s, ready ${freezeReady ? seconds(freezeReady - thawAt) : 'never'} s after the thaw`);

      // (c) A slow network that drops every connection now and then.
      say(`(c) ${opt('latency-ms')} ms a chunk each way for ${opt('network-seconds')} s, every connection cut ${opt('cuts')} times`);
      const outputBefore = await endTotal(log, app.output);
      const slowAt = Date.now();
      proxy.latencyMs = opt('latency-ms');
      const gap = (opt('network-seconds') * 1000) / (opt('cuts') + 1);
      for (let i = 0; i < opt('cuts'); i++) {
        await sleep(gap);
        say(`(c) cut ${proxy.cut()} connections`);
      }
      await sleep(gap);
      proxy.latencyMs = 0;
      const fastAt = Date.now();
      const outputDuring = (await endTotal(log, app.output)) - outputBefore;
      const netNotReady = polls.count(slowAt, fastAt, (s) => !isReady(s)) * 0.25;
      const netReady = await readyAgain(fastAt);
      say(`(c) output grew by ${outputDuring} records; not ready for ${netNotReady} s of it; ready ${netReady ? seconds(Math.max(0, netReady - fastAt)) : 'never'} s after`);

      await sleep(5000);
      await writer.stop();
      say(`input written: ${writer.sent} lines sent (${writer.failedBatches} batches failed); waiting for duality to commit all of it`);
      const short = await waitUntilCommitted(log, app, recoverMs);
      const check = await checkCounts(log, app);
      const stillRunning = instance.running;
      const exit = await instance.stop('SIGTERM', 60_000).catch((e: unknown) => `${e instanceof Error ? e.message : String(e)}`);
      const figures = {
        lost: check.lost,
        duplicated: check.duplicated,
        disordered: check.disordered,
        lines: check.lines,
        updates: check.updates,
        notice_stop_s: stopNotice ? seconds(stopNotice.at - stopAt) : 'never',
        broker_stop_s: seconds(stoppedAt - stopAt),
        broker_start_s: seconds(answersAt - stoppedAt - opt('outage-seconds') * 1000),
        recover_stop_s: stopReady ? seconds(stopReady - answersAt) : 'never',
        notice_freeze_s: freezeNotice ? seconds(freezeNotice.at - freezeAt) : 'never',
        recover_freeze_s: freezeReady ? seconds(freezeReady - thawAt) : 'never',
        net_output: outputDuring,
        net_not_ready_s: netNotReady,
        net_cut_connections: proxy.cutConnections,
        recover_net_s: netReady ? seconds(Math.max(0, netReady - fastAt)) : 'never',
        writer_failed_batches: writer.failedBatches,
      };
      return outcome(figures, [
        [check.lost === 0, `${check.lost} count updates lost`],
        [check.duplicated === 0, `${check.duplicated} count updates doubled`],
        [check.disordered === 0, `${check.disordered} words whose counts did not go 1..n in order`],
        [short.length === 0, `duality had not committed all it read ${opt('recover-seconds')} s after the input stopped: ${short.join(', ')}`],
        [stillRunning, `duality exited during the run (${instance.child.exitCode ?? instance.child.signalCode}): ${instance.stderr.slice(-2000)}`],
        [exit === 0, `duality did not stop cleanly on SIGTERM: ${exit}`],
        [stopNotice !== undefined, `/readyz never said recovering while the broker was stopped (${seconds(answersAt - stopAt)} s)`],
        [stopReady !== undefined, `/readyz not 200 within ${opt('recover-seconds')} s of the broker's restart`],
        [freezeNotice !== undefined, `/readyz never said recovering while the broker was frozen (${opt('freeze-seconds')} s)`],
        [freezeReady !== undefined, `/readyz not 200 within ${opt('recover-seconds')} s of the thaw`],
        [netReady !== undefined, `/readyz not 200 within ${opt('recover-seconds')} s of the network phase's end`],
        [outputDuring > 0, 'no output at all during the network phase'],
      ]);
    } finally {
      readyz?.stop();
      if (instance?.running) await instance.stop('SIGKILL').catch(() => undefined);
      await writer?.stop().catch(() => undefined);
      await log?.close().catch(() => undefined);
      // Thawed and stopped, whatever happened: it advertises a proxy that is about to go.
      if (broker.pid() !== undefined) {
        try {
          broker.thaw();
        } catch {
          // gone in between
        }
        await broker.stop().catch(() => undefined);
      }
      await proxy.close();
    }
  },
};
