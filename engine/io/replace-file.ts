import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Replaces `dir/name` atomically: write a temporary file, fsync it, rename it over the old one,
 * fsync the directory so the rename itself survives a power cut. A reader sees the old text or
 * the new, never a mix. `dirHandle` saves opening the directory when the caller keeps it open.
 */
export async function replaceFile(dir: string, name: string, text: string, dirHandle?: FileHandle): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, join(dir, name));
  const d = dirHandle ?? (await open(dir, 'r'));
  try {
    await d.sync();
  } finally {
    if (!dirHandle) await d.close();
  }
}
