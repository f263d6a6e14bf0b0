import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../root.js';

// The Dockerfile's stages, carried out without a container engine (none runs where the tests do):
// each stage's /app is a directory, its COPY lines copy from the build context (the checkout, less
// what .dockerignore leaves out) or from an earlier stage's directory, and its RUN lines run there.
// What the runtime stage ends up with is then the image's /app, file for file.

const APP = '/app';

export interface Stage {
  readonly name: string;
  readonly copies: { from?: string; sources: string[]; dest: string }[];
  readonly runs: string[];
  readonly env: Record<string, string>;
  workdir?: string;
  entrypoint?: string[];
  cmd?: string[];
  volume?: string;
}

/** The Dockerfile's stages, in order; the last one is the image. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const stage = stages.at(-1);
    if (op === 'FROM') {
      stages.push({ name: /\sAS\s+(\S+)$/i.exec(rest)?.[1] ?? `stage${stages.length}`, copies: [], runs: [], env: {} });
      continue;
    }
    if (op === 'ARG' && stage === undefined) continue;
    if (stage === undefined) throw new Error(`Dockerfile: ${op} before FROM`);
    switch (op) {
      case 'WORKDIR':
        stage.workdir = rest;
        break;
      case 'COPY': {
        const words = rest.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        stage.copies.push({ ...(from !== undefined && { from }), sources: paths.slice(0, -1), dest: paths.at(-1)! });
        break;
      }
      case 'RUN':
        stage.runs.push(rest);
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        stage.cmd = JSON.parse(rest) as string[];
        break;
      case 'VOLUME':
        stage.volume = rest;
        break;
    }
  }
  return stages;
}

/**
 * A path the build context leaves out. Handles the two forms .dockerignore uses: a path, which
 * takes what is under it too, and a file-name glob behind a leading two-star directory, which
 * applies anywhere. Throws on any other, so that a new kind of pattern cannot be misread here.
 */
export function ignoredBy(patterns: string[]): (path: string) => boolean {
  const glob = (p: string): RegExp => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const tests = patterns.map((p): ((path: string) => boolean) => {
    if (p.startsWith('**/') && !p.slice(3).includes('/')) {
      const name = glob(p.slice(3));
      return (path) => name.test(basename(path));
    }
    if (/[*?[\]!]/.test(p)) throw new Error(`.dockerignore: the test's reader does not know the pattern "${p}"`);
    return (path) => path === p || path.startsWith(`${p}/`);
  });
  return (path) => tests.some((t) => t(path));
}

/** Builds each stage into a directory under `top`; gives the last stage's /app directory and the stage. */
export async function emulateImage(top: string): Promise<{ app: string; image: Stage }> {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ignored = ignoredBy(
    readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
  const dirs = new Map<string, string>();
  for (const [i, stage] of stages.entries()) {
    if (stage.workdir !== APP) throw new Error(`Dockerfile: stage ${stage.name} works in ${stage.workdir ?? '/'}, the emulation knows only WORKDIR ${APP}`);
    const dir = join(top, stage.name);
    mkdirSync(dir);
    dirs.set(stage.name, dir);
    for (const c of stage.copies) {
      const dest = join(dir, c.dest);
      for (const source of c.sources) {
        let from: string;
        if (c.from === undefined) {
          if (ignored(source.replace(/\/$/, ''))) throw new Error(`Dockerfile: COPY ${source} is left out of the build context by .dockerignore`);
          from = join(ROOT, source);
        } else {
          if (!source.startsWith(`${APP}/`)) throw new Error(`Dockerfile: COPY --from=${c.from} ${source} is outside ${APP}`);
          from = join(dirs.get(c.from) ?? '', source.slice(APP.length));
        }
        const to = c.dest.endsWith('/') && !statSync(from).isDirectory() ? join(dest, basename(from)) : dest;
        const filter = c.from === undefined ? (p: string) => !ignored(relative(ROOT, p).split(sep).join('/')) : undefined;
        cpSync(from, to, { recursive: true, ...(filter && { filter }) });
      }
    }
    // The image's own RUN lines make its user and the directories outside /app, as root: not here.
    if (i === stages.length - 1) break;
    for (const run of stage.runs) await promisify(execFile)('sh', ['-c', run], { cwd: dir, maxBuffer: 64 << 20 });
  }
  return { app: dirs.get(stages.at(-1)!.name)!, image: stages.at(-1)! };
}
