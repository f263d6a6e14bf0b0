/**
 * `duality validate` in-process, in a worker thread: the compiler on topology texts sent as
 * messages, each answered with what it found and how long it took. In a worker so that a text
 * that hangs the compiler can be timed out (the worker terminated) and one that exhausts memory
 * kills the worker, not the runner: see `Compiler`.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, Worker } from 'node:worker_threads';
import type { Diagnostic } from '../../engine/api/diagnostics.js';
import { compileTopology } from '../../engine/compiler/index.js';

interface Request {
  readonly id: number;
  readonly file: string;
  readonly text: string;
}

/** What the compiler made of one text. */
export type Compiled =
  | { readonly kind: 'valid'; readonly ms: number }
  | { readonly kind: 'rejected'; readonly ms: number; readonly diagnostics: readonly Diagnostic[] }
  /** It threw, gave neither a graph nor diagnostics, or killed the worker (out of memory). */
  | { readonly kind: 'crash'; readonly ms: number; readonly error: string }
  /** Still compiling after the bound: the worker was terminated. */
  | { readonly kind: 'hang'; readonly ms: number };

type Reply = { readonly id: number } & Compiled;

if (parentPort) {
  const port = parentPort;
  port.on('message', ({ id, file, text }: Request) => {
    const began = performance.now();
    let reply: Reply;
    try {
      const r = compileTopology(file, text, { env: {} });
      const ms = performance.now() - began;
      if (r.graph) reply = { id, kind: 'valid', ms };
      else if (r.diagnostics.length > 0) reply = { id, kind: 'rejected', ms, diagnostics: r.diagnostics };
      else reply = { id, kind: 'crash', ms, error: 'neither a graph nor a diagnostic' };
    } catch (e) {
      reply = { id, kind: 'crash', ms: performance.now() - began, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
}

/** The compiler in a worker, one text at a time; a new worker after one hung or died. */
export class Compiler {
  private worker?: Worker;
  private next = 0;

  constructor(private readonly limits: { readonly maxMs: number; readonly heapMb: number }) {}

  compile(file: string, text: string): Promise<Compiled> {
    const worker = (this.worker ??= new Worker(new URL(import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMb } }));
    const id = this.next++;
    const began = performance.now();
    return new Promise((resolve) => {
      const done = (c: Compiled, dead: boolean): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (dead) {
          void worker.terminate();
          this.worker = undefined;
        }
        resolve(c);
      };
      const onMessage = (r: Reply): void => {
        if (r.id === id) done(r, false);
      };
      const onError = (e: Error): void => done({ kind: 'crash', ms: performance.now() - began, error: `the worker died: ${e.stack ?? e.message}` }, true);
      const onExit = (code: number): void => done({ kind: 'crash', ms: performance.now() - began, error: `the worker exited ${code}` }, true);
      // A case may be slow, not hung: it gets twice the bound before the worker is given up on.
      const timer = setTimeout(() => done({ kind: 'hang', ms: performance.now() - began }, true), 2 * this.limits.maxMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, file, text } satisfies Request);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
