import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../root.js';

const exec = promisify(execFile);

/**
 * A Kafka broker of the suite's own, started by the project's script (kafka/start.sh) on ports
 * and a data directory apart from the test broker's, so a scenario may stop, freeze or wipe it
 * without disturbing anything else. Ports: RELIABILITY_KAFKA_PORT (default 29092) for clients,
 * the next one for the KRaft controller, the one after for SASL_SSL. `advertisedPort` is the port
 * it tells clients to connect to (KAFKA_ADVERTISED_PORT): a proxy's, to put one in between.
 */
export class SuiteBroker {
  readonly port: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(port = Number(process.env.RELIABILITY_KAFKA_PORT ?? 29092), options: { advertisedPort?: number } = {}) {
    this.port = port;
    this.env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_SASL_PORT: String(port + 2),
      KAFKA_ADVERTISED_PORT: String(options.advertisedPort ?? port),
      KAFKA_CACHE_DIR: join(ROOT, 'kafka/.cache', `reliability-${port}`),
    };
  }

  /** `127.0.0.1:PORT`, for `--brokers`. */
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts it (or finds it running); `fresh` wipes its data first. */
  async start(fresh = false): Promise<void> {
    await this.script('start.sh', fresh ? ['--reset'] : []);
  }

  /** Stops it with SIGTERM and waits for the exit. */
  async stop(): Promise<void> {
    await this.script('stop.sh', []);
  }

  /** The broker's process id, or undefined when it is not running. */
  pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.env.KAFKA_CACHE_DIR!, 'kafka.pid'), 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** SIGSTOP: the broker keeps its connections open and answers nothing (a long GC pause, a frozen VM). */
  freeze(): void {
    process.kill(this.running(), 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.running(), 'SIGCONT');
  }

  private running(): number {
    const pid = this.pid();
    if (pid === undefined) throw new Error(`the suite's broker on ${this.brokers} is not running`);
    return pid;
  }

  private async script(name: string, args: string[]): Promise<void> {
    await exec('bash', [join(ROOT, 'kafka', name), ...args], { env: this.env, maxBuffer: 16 << 20 });
  }
}
