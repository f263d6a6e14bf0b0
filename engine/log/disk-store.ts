import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { tpKey } from '../api/log.js';
import { lockDirectory } from '../io/dir-lock.js';
import { EMPTY_MANIFEST, readManifest, writeManifest, type Manifest } from './manifest.js';
import { checkSegments } from './segment-check.js';

/** Bytes to append to one partition's segment; `committedBytes` is where to cut back to on failure. */
export interface SegmentWrite {
  readonly topic: string;
  readonly partition: number;
  readonly chunks: readonly Buffer[];
  readonly committedBytes: number;
}

/**
 * The files of a persisted embedded log: `<dir>/manifest.json`, `<dir>/LOCK` and
 * `<dir>/topics/<topic>/<partition>.log`. Callers serialise every write; this class never runs two
 * at once and keeps no state but open file handles.
 */
export class DiskStore {
  private readonly segments = new Map<string, FileHandle>();
  /** Descriptors for reading segments back, opened on first use. */
  private readonly readers = new Map<string, number>();
  /** Set when a failed write could not be undone: the files no longer match what memory holds. */
  private broken: Error | undefined;

  private constructor(
    readonly dir: string,
    private readonly dirHandle: FileHandle,
    private readonly unlock: () => Promise<void>,
  ) {}

  /**
   * Locks `dir`, checks its files against the manifest (engine/log/segment-check.ts: files it does
   * not account for are refused), then opens every committed segment (cutting off what was never
   * committed).
   */
  static async open(dir: string): Promise<{ store: DiskStore; manifest: Manifest }> {
    await mkdir(join(dir, 'topics'), { recursive: true });
    const { release: unlock } = await lockDirectory(dir, 'LOCK', 'embedded log');
    let store: DiskStore | undefined;
    try {
      store = new DiskStore(dir, await open(dir, 'r'), unlock);
      const found = await readManifest(dir);
      // Deleted topics' files were left by a crash mid-delete: removing them finishes the delete.
      for (const topic of await checkSegments(dir, found)) await rm(join(dir, 'topics', topic), { recursive: true, force: true });
      const manifest = found ?? EMPTY_MANIFEST;
      for (const topic of manifest.topics) {
        for (let p = 0; p < topic.bytes.length; p++) await store.openSegment(topic.name, p, topic.bytes[p] as number);
      }
      return { store, manifest };
    } catch (e) {
      if (store) await store.close();
      else await unlock();
      throw e;
    }
  }

  /**
   * Reads a partition's segment synchronously: records read back are in the page cache nearly
   * always (they were written moments or minutes ago), and a synchronous read keeps the consumer's
   * fetch free of promises, as the in-memory chunks do.
   */
  reader(topic: string, partition: number): (position: number, length: number) => Buffer {
    const key = tpKey({ topic, partition });
    const path = this.segmentPath(topic, partition);
    return (position, length) => {
      let fd = this.readers.get(key);
      if (fd === undefined) {
        fd = openSync(path, 'r');
        this.readers.set(key, fd);
      }
      const out = Buffer.allocUnsafeSlow(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? out : out.subarray(0, got);
    };
  }

  private segmentPath(topic: string, partition: number): string {
    return join(this.dir, 'topics', topic, `${partition}.log`);
  }

  private async openSegment(topic: string, partition: number, committed: number): Promise<void> {
    const path = this.segmentPath(topic, partition);
    if (committed === 0) await mkdir(join(this.dir, 'topics', topic), { recursive: true });
    const handle = await open(path, 'a');
    this.segments.set(tpKey({ topic, partition }), handle);
    const { size } = await handle.stat();
    // Bytes past the committed length were appended by a write whose manifest never landed.
    if (size > committed) {
      await handle.truncate(committed);
      await handle.sync();
    }
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
    for (const [key, fd] of this.readers) {
      if (key.slice(0, key.lastIndexOf(':')) !== topic) continue;
      this.readers.delete(key);
      closeSync(fd);
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
      await Promise.all(writes.map((w, i) => writeAll(handles[i]!, w.chunks)));
      await Promise.all(handles.map((h, i) => (writes[i]!.chunks.length > 0 ? h.sync() : undefined)));
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
    for (const fd of this.readers.values()) closeSync(fd);
    this.readers.clear();
    await Promise.allSettled(handles.map((h) => h.close()));
    await this.unlock();
  }
}

/** Appends every chunk, in order; writev may write less than asked, so it goes on until all is written. */
async function writeAll(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw new Error('embedded log: a segment write made no progress');
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
      bytesWritten -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
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
