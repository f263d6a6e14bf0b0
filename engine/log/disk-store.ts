import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { tpKey } from '../api/log.js';
import { lockDirectory } from './dir-lock.js';
import { EMPTY_MANIFEST, readManifest, writeManifest, type Manifest } from './manifest.js';

/** Bytes to append to one partition's segment; `committedBytes` is where to cut back to on failure. */
export interface SegmentWrite {
  readonly topic: string;
  readonly partition: number;
  readonly data: Buffer;
  readonly committedBytes: number;
}

/**
 * The files of a persisted embedded log: `<dir>/manifest.json`, `<dir>/LOCK` and
 * `<dir>/topics/<topic>/<partition>.log`. Callers serialise every write; this class never runs two
 * at once and keeps no state but open file handles.
 */
export class DiskStore {
  private readonly segments = new Map<string, FileHandle>();
  /** Set when a failed write could not be undone: the files no longer match what memory holds. */
  private broken: Error | undefined;

  private constructor(
    readonly dir: string,
    private readonly dirHandle: FileHandle,
    private readonly unlock: () => Promise<void>,
  ) {}

  /** Locks `dir`, then reads the manifest and every committed segment (cutting off what was never committed). */
  static async open(dir: string): Promise<{ store: DiskStore; manifest: Manifest; segments: Map<string, Buffer> }> {
    await mkdir(join(dir, 'topics'), { recursive: true });
    const unlock = await lockDirectory(dir);
    let store: DiskStore | undefined;
    try {
      store = new DiskStore(dir, await open(dir, 'r'), unlock);
      const manifest = (await readManifest(dir)) ?? EMPTY_MANIFEST;
      const segments = new Map<string, Buffer>();
      for (const topic of manifest.topics) {
        for (let p = 0; p < topic.bytes.length; p++) {
          segments.set(tpKey({ topic: topic.name, partition: p }), await store.openSegment(topic.name, p, topic.bytes[p] as number));
        }
      }
      return { store, manifest, segments };
    } catch (e) {
      if (store) await store.close();
      else await unlock();
      throw e;
    }
  }

  private segmentPath(topic: string, partition: number): string {
    return join(this.dir, 'topics', topic, `${partition}.log`);
  }

  private async openSegment(topic: string, partition: number, committed: number): Promise<Buffer> {
    const path = this.segmentPath(topic, partition);
    if (committed === 0) await mkdir(join(this.dir, 'topics', topic), { recursive: true });
    const handle = await open(path, 'a');
    this.segments.set(tpKey({ topic, partition }), handle);
    const { size } = await handle.stat();
    if (size < committed) {
      throw new Error(`embedded log: ${path} holds ${size} bytes but ${committed} were committed; the disk lost acknowledged data`);
    }
    // Bytes past the committed length were appended by a write whose manifest never landed.
    if (size > committed) {
      await handle.truncate(committed);
      await handle.sync();
    }
    return committed === 0 ? Buffer.alloc(0) : readFile(path);
  }

  /** Makes empty segment files for a new topic, replacing any left by a topic of the same name. */
  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.deleteTopic(topic);
    const topicDir = join(this.dir, 'topics', topic);
    await mkdir(topicDir, { recursive: true });
    for (let p = 0; p < partitions; p++) await this.openSegment(topic, p, 0);
    await syncDir(topicDir);
    await syncDir(join(this.dir, 'topics'));
  }

  async deleteTopic(topic: string): Promise<void> {
    for (const [key, handle] of this.segments) {
      if (key.slice(0, key.lastIndexOf(':')) !== topic) continue;
      this.segments.delete(key);
      await handle.close();
    }
    await rm(join(this.dir, 'topics', topic), { recursive: true, force: true });
  }

  /**
   * Appends each write (one write call per partition), fsyncs them, then replaces the manifest;
   * the records count as committed only once the manifest names them.
   */
  async commit(writes: readonly SegmentWrite[], manifest: Manifest): Promise<void> {
    if (this.broken) throw this.broken;
    const handles = writes.map((w) => {
      const handle = this.segments.get(tpKey(w));
      if (!handle) throw new Error(`embedded log: no open segment for ${tpKey(w)}`);
      return handle;
    });
    try {
      await Promise.all(writes.map((w, i) => (w.data.length > 0 ? (handles[i] as FileHandle).write(w.data) : undefined)));
      await Promise.all(handles.map((h, i) => ((writes[i] as SegmentWrite).data.length > 0 ? h.sync() : undefined)));
    } catch (e) {
      await this.undo(writes, handles, e);
      throw e;
    }
    await this.writeManifest(manifest);
  }

  /** Replaces the manifest; a failure after the rename leaves the state unknown, so the store stops. */
  async writeManifest(manifest: Manifest): Promise<void> {
    if (this.broken) throw this.broken;
    try {
      await writeManifest(this.dir, this.dirHandle, manifest);
    } catch (e) {
      this.broken = new Error(`embedded log: writing the manifest of ${this.dir} failed; reopen the log to recover its last commit`, { cause: e });
      throw e;
    }
  }

  private async undo(writes: readonly SegmentWrite[], handles: readonly FileHandle[], cause: unknown): Promise<void> {
    try {
      await Promise.all(handles.map((h, i) => h.truncate((writes[i] as SegmentWrite).committedBytes)));
    } catch {
      this.broken = new Error(`embedded log: a failed write to ${this.dir} could not be undone; reopen the log to recover its last commit`, { cause });
    }
  }

  async close(): Promise<void> {
    const handles = [...this.segments.values(), this.dirHandle];
    this.segments.clear();
    await Promise.allSettled(handles.map((h) => h.close()));
    await this.unlock();
  }
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
