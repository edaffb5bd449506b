import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

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

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? 'error';

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
    const problem = statProblem(fstatSync(fd), kind);
    if (problem) throw new ConfiguredFileError(problem);
    return readFileSync(fd);
  } catch (error) {
    throw error instanceof ConfiguredFileError ? error : new ConfiguredFileError(codeOf(error));
  } finally {
    closeSync(fd);
  }
}

/** {@link readConfiguredFileSync} without blocking the event loop. */
export async function readConfiguredFile(path: string, kind: FileKind): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, FLAGS);
  } catch (error) {
    throw new ConfiguredFileError(codeOf(error));
  }
  try {
    const problem = statProblem(await handle.stat(), kind);
    if (problem) throw new ConfiguredFileError(problem);
    return await handle.readFile();
  } catch (error) {
    throw error instanceof ConfiguredFileError ? error : new ConfiguredFileError(codeOf(error));
  } finally {
    await handle.close();
  }
}
