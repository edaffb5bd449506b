import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** The most a TLS file may hold: a bundle of every public root CA is about 220 KB. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** A TLS file that cannot be read; `reason` is short and safe to show (a code, a kind, a size: no content). */
export class TlsFileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TlsFileError';
  }
}

/**
 * Opened without waiting for a writer (a FIFO in the file's place would block the open itself),
 * and checked on the open descriptor: no swap of the file can come between the check and the read.
 */
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Why a TLS file's descriptor is not read: anything but a regular file (a FIFO or a device such as
 * /dev/zero would block the process or fill its memory), or one over MAX_TLS_FILE_BYTES.
 */
function statProblem(stats: Stats): string | undefined {
  if (stats.isDirectory()) return 'EISDIR';
  if (!stats.isFile()) return `${stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : 'a device'}, not a regular file`;
  if (stats.size > MAX_TLS_FILE_BYTES) return `${String(stats.size)} bytes, over the ${String(MAX_TLS_FILE_BYTES)} a TLS file may hold`;
  return undefined;
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? 'error';

/** The bytes of TLS file `path`, or a TlsFileError saying why not. */
export function readTlsFileSync(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (error) {
    throw new TlsFileError(codeOf(error));
  }
  try {
    const problem = statProblem(fstatSync(fd));
    if (problem) throw new TlsFileError(problem);
    return readFileSync(fd);
  } catch (error) {
    throw error instanceof TlsFileError ? error : new TlsFileError(codeOf(error));
  } finally {
    closeSync(fd);
  }
}

/** {@link readTlsFileSync} without blocking the event loop. */
export async function readTlsFile(path: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, FLAGS);
  } catch (error) {
    throw new TlsFileError(codeOf(error));
  }
  try {
    const problem = statProblem(await handle.stat());
    if (problem) throw new TlsFileError(problem);
    return await handle.readFile();
  } catch (error) {
    throw error instanceof TlsFileError ? error : new TlsFileError(codeOf(error));
  } finally {
    await handle.close();
  }
}
