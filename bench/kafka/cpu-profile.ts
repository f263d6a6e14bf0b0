/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function, and per area (the
 * engine, kafkajs, other packages, Node's internals, GC, idle), to say what limits a run.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time, ms, and the part of it not idle. */
  totalMs: number;
  busyMs: number;
  top: { name: string; where: string; ms: number }[];
  areas: { area: string; ms: number }[];
}

/** Where a frame's code lives: `dist/engine/...`, `kafkajs`, `node:internal`, `(garbage collector)`, ... */
function areaOf(f: CallFrame, root: string): string {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const path = f.url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  if (path.startsWith('node:')) return 'node (internals)';
  if (path.startsWith(root)) return path.slice(root.length).split('/').slice(0, 2).join('/');
  return path;
}

/** Self time from the samples: each sample charges the time since the previous one to its node. */
export function summariseProfile(file: string, root: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<number, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    totalUs += dt;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!;
    const area = areaOf(f, root);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const path = f.url.replace(/^file:\/\//, '').replace(root, '');
    const where = f.url === '' ? '' : `${path}:${f.lineNumber + 1}`;
    const key = `${f.functionName}@${where}`;
    const entry = fns.get(key) ?? { name: f.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const idleUs = areas.get('(idle)') ?? 0;
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    top: [...fns.values()].filter((f) => f.name !== '(idle)').sort((a, b) => b.us - a.us).slice(0, topN).map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000 })),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: us / 1000 })),
  };
}

/** The summary as Markdown tables (percentages of the busy, i.e. not idle, time). */
export function profileMarkdown(s: ProfileSummary): string[] {
  const pct = (ms: number): string => `${((100 * ms) / s.busyMs).toFixed(1)} %`;
  return [
    `Sampled ${(s.totalMs / 1000).toFixed(1)} s, of which ${(s.busyMs / 1000).toFixed(1)} s busy (the rest idle, waiting on the network).`,
    '',
    '| area | self time | of busy |',
    '|---|---:|---:|',
    ...s.areas.filter((a) => a.area !== '(idle)' && a.ms / s.busyMs >= 0.005).map((a) => `| ${a.area} | ${(a.ms / 1000).toFixed(2)} s | ${pct(a.ms)} |`),
    '',
    '| function | where | self time | of busy |',
    '|---|---|---:|---:|',
    ...s.top.map((f) => `| \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${(f.ms / 1000).toFixed(2)} s | ${pct(f.ms)} |`),
  ];
}
