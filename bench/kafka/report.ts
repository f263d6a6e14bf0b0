/**
 * What a published figure needs beside it: the versions and the machine it was measured on; and
 * the writer of docs/benchmarks.md, which replaces only its own section (between marker comments),
 * so the prose around it survives a rerun.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

export interface Environment {
  /** The commit the figures belong to, and whether the work tree differed from it. */
  readonly duality: string;
  readonly kafka: string;
  readonly kafkaStreams: string;
  readonly kafkajs: string;
  readonly node: string;
  readonly java: string;
  readonly machine: string;
  readonly date: string;
}

const pinned = (pom: string): string => /<kafka\.version>([^<]+)</.exec(readFileSync(pom, 'utf8'))?.[1] ?? '?';

export function environment(root: string): Environment {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? '?';
  const kafkajs = (JSON.parse(readFileSync(join(root, 'node_modules/kafkajs/package.json'), 'utf8')) as { version: string }).version;
  const git = (args: string[]): string => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'engine', 'operators', 'server', 'bin']) !== '';
  return {
    duality: commit ? `${commit}${dirty ? ' with uncommitted changes in engine/, operators/, server/ or bin/' : ''}` : '?',
    kafka: `${pinned(join(root, 'kafka/pom.xml'))} (single-node KRaft broker, kafka/)`,
    kafkaStreams: pinned(join(root, 'bench/kstreams/pom.xml')),
    kafkajs,
    node: process.version,
    java: (java.stderr ?? '').split('\n').slice(0, 2).join('; ').trim() || '?',
    machine: `${cpus().length} cores (${model}), ${(memKb / 1024 / 1024).toFixed(1)} GiB RAM (/proc/meminfo), Linux ${release()}`,
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
  };
}

export function environmentLines(e: Environment): string[] {
  return [
    `date: ${e.date}; Duality at git ${e.duality}`,
    `machine: ${e.machine}`,
    `Kafka broker ${e.kafka}; Kafka Streams ${e.kafkaStreams}; kafkajs ${e.kafkajs}; Node ${e.node}; Java: ${e.java}`,
  ];
}

/**
 * Puts `section` between the markers of bench `name` in `file`, creating the file (or the
 * markers, at its end) when missing.
 */
export function writeSection(file: string, section: readonly string[], name = 'kafka-wordcount'): void {
  const BEGIN = `<!-- ${name}: begin (written by \`npm run bench -- ${name}\`; edits here are overwritten) -->`;
  const END = `<!-- ${name}: end -->`;
  const body = [BEGIN, ...section, END].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const from = old.indexOf(`<!-- ${name}: begin`);
  const to = old.indexOf(END);
  const text = from >= 0 && to > from ? old.slice(0, from) + body + old.slice(to + END.length) : `${old.trimEnd()}\n\n${body}\n`;
  writeFileSync(file, text);
}
