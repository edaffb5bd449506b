import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** A kind of file the options may name: what it is called in errors, and the most it may hold. */
export interface FileKind {
  /** e.g. 'a TLS file' */
  readonly name: string;
  readonly maxBytes: number;
}

/** A file the options name that is not read; `reason` is short and safe to show (a code, a kind, a size: no content). */
export class ConfiguredFileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConfiguredFileError';
  }
}

/** What a read of a configured file failed on, short and safe to show. */
export const fileProblemOf = (error: unknown): string => (error instanceof ConfiguredFileError ? error.reason : 'error');

/**
 * Opened without waiting for a writer (a FIFO in the file's place would block the open itself),
 * and checked on the open descriptor: no swap of the file can come between the check and the read.
 */
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Why a descriptor is not read: anything but a regular file (a FIFO would hold the thread reading
 * it for ever, a device such as /dev/zero fill the memory), or one larger than its kind may be.
 */
function statProblem(stats: Stats, kind: FileKind): string | undefined {
  if (stats.isDirectory()) return 'EISDIR';
  if (!stats.isFile()) return `${stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : 'a device'}, not a regular file`;
  if (stats.size > kind.maxBytes) return `${String(stats.size)} bytes, over the ${String(kind.maxBytes)} ${kind.name} may hold`;
  return undefined;
}

/** (opening a Unix socket fails with ENXIO on Linux, before its descriptor can be looked at) */
function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return code === 'ENXIO' ? 'ENXIO: a socket or a device with no driver, not a regular file' : code;
}

const overLimit = (kind: FileKind): ConfiguredFileError =>
  new ConfiguredFileError(`more than the ${String(kind.maxBytes)} bytes ${kind.name} may hold`);

/**
 * The first buffer for a file whose stat told `size`: one byte more than that (so its end is seen
 * without a second buffer), at least a page (a /proc file tells 0), at most one byte over the limit.
 */
const firstLength = (size: number, kind: FileKind): number => Math.min(Math.max(size, 4095), kind.maxBytes) + 1;

/** `buffer`'s bytes in one twice its length (at most one byte over the limit). */
function grown(buffer: Buffer, kind: FileKind): Buffer {
  const next = Buffer.alloc(Math.min(buffer.length * 2, kind.maxBytes + 1));
  buffer.copy(next);
  return next;
}

/**
 * The bytes of `fd` to its end, refused once they pass the limit: the size fstat told does not
 * bound them (a file growing while read; a /proc or FUSE file, whose stat tells 0).
 */
function readToEndSync(fd: number, size: number, kind: FileKind): Buffer {
  let buffer: Buffer = Buffer.alloc(firstLength(size, kind));
  let length = 0;
  for (;;) {
    if (length === buffer.length) buffer = grown(buffer, kind);
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) return buffer.subarray(0, length);
    length += read;
    if (length > kind.maxBytes) throw overLimit(kind);
  }
}

/** {@link readToEndSync} without blocking the event loop. */
async function readToEnd(handle: FileHandle, size: number, kind: FileKind): Promise<Buffer> {
  let buffer: Buffer = Buffer.alloc(firstLength(size, kind));
  let length = 0;
  for (;;) {
    if (length === buffer.length) buffer = grown(buffer, kind);
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
    if (length > kind.maxBytes) throw overLimit(kind);
  }
}

/**
 * The bytes of `path`, a file the options name (TLS material, a token, an xDS bootstrap), or a
 * ConfiguredFileError saying why not: only a regular file of at most `kind.maxBytes` is read.
 */
export function readConfiguredFileSync(path: string, kind: FileKind): Buffer {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (error) {
    throw new ConfiguredFileError(codeOf(error));
  }
  try {
    const stats = fstatSync(fd);
    const problem = statProblem(stats, kind);
    if (problem) throw new ConfiguredFileError(problem);
    return readToEndSync(fd, stats.size, kind);
  } catch (error) {
    throw error instanceof ConfiguredFileError ? error : new ConfiguredFileError(codeOf(error));
  } finally {
    closeSync(fd);
  }
}

/** {@link readConfiguredFileSync} without blocking the event loop. */
export async function readConfiguredFile(path: string, kind: FileKind): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (error) {
    throw new ConfiguredFileError(codeOf(error));
  }
  try {
    const stats = await handle.stat();
    const problem = statProblem(stats, kind);
    if (problem) throw new ConfiguredFileError(problem);
    return await readToEnd(handle, stats.size, kind);
  } catch (error) {
    throw error instanceof ConfiguredFileError ? error : new ConfiguredFileError(codeOf(error));
  } finally {
    await handle.close();
  }
}
