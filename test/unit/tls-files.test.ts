import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsMaterialError, loadTlsMaterial } from '../../libs/mesh-client/src/security/tls-credentials.js';
import { MAX_TLS_FILE_BYTES, readTlsFile, readTlsFileSync } from '../../libs/mesh-client/src/security/tls-files.js';
import { TlsWatcher } from '../../libs/mesh-client/src/security/tls-watcher.js';
import { createTestPki, writeAtomic, type TestPki } from '../support/pki.js';
import { eventually } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-tls-files-'));
const fifo = (name: string): string => {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
};

/** What a read of `path` ends in: its bytes' length, or the error's message. */
async function outcome(read: () => Buffer | Promise<Buffer>): Promise<string> {
  try {
    return `${String((await read()).length)} bytes`;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe('TLS files: only a regular file of at most 1 MiB is read', () => {
  const cases: [string, () => string, string][] = [
    ['a FIFO (a read would wait for a writer for ever)', () => fifo('ca.fifo'), 'ConfiguredFileError: a FIFO, not a regular file'],
    ['/dev/zero (a read would fill the memory)', () => '/dev/zero', 'ConfiguredFileError: a device, not a regular file'],
    ['a directory', () => dir, 'ConfiguredFileError: EISDIR'],
    ['a missing file', () => join(dir, 'missing.pem'), 'ConfiguredFileError: ENOENT'],
    [
      'a file over 1 MiB',
      () => {
        const path = join(dir, 'big.pem');
        writeFileSync(path, '');
        truncateSync(path, MAX_TLS_FILE_BYTES + 1);
        return path;
      },
      `ConfiguredFileError: ${String(MAX_TLS_FILE_BYTES + 1)} bytes, over the ${String(MAX_TLS_FILE_BYTES)} a TLS file may hold`,
    ],
  ];

  it.each(cases)('refuses %s, at once, synchronously and not', async (_what, make, expected) => {
    const path = make();
    const began = performance.now();
    expect(await outcome(() => readTlsFileSync(path))).toBe(expected);
    expect(await outcome(() => readTlsFile(path))).toBe(expected);
    expect(performance.now() - began).toBeLessThan(1000);
  });

  it('reads a regular file of exactly 1 MiB', async () => {
    const path = join(dir, 'limit.pem');
    writeFileSync(path, Buffer.alloc(MAX_TLS_FILE_BYTES, 0x41));
    expect(await outcome(() => readTlsFileSync(path))).toBe(`${String(MAX_TLS_FILE_BYTES)} bytes`);
    expect(await outcome(() => readTlsFile(path))).toBe(`${String(MAX_TLS_FILE_BYTES)} bytes`);
  });
});

describe('TLS material from a special file', () => {
  let pki: TestPki;
  const watchers: TlsWatcher[] = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(() => watchers.forEach((w) => w.stop()));

  it('fails at start naming the field and what the file is (before: start blocked for ever on a FIFO)', () => {
    const ca = fifo('start-ca.fifo');
    const load = (): unknown => loadTlsMaterial({ ca, cert: pki.files.cert, key: pki.files.key });
    expect(load).toThrow(TlsMaterialError);
    expect(load).toThrow(`tls.ca is neither PEM nor a readable file '${ca}' (a FIFO, not a regular file)`);
    expect(() => loadTlsMaterial({ ca: pki.files.ca, cert: pki.files.cert, key: '/dev/zero' })).toThrow(
      // (a path without a '.' is not quoted: it could be key material)
      'tls.key is neither PEM nor a readable file (9 characters, a device, not a regular file)',
    );
  });

  it('a watched key swapped for a FIFO is warned about, and the next good set is still taken (before: the watcher hung on it for good)', async () => {
    const d = join(dir, 'watched');
    mkdirSync(d);
    const files = { ca: join(d, 'ca.pem'), cert: join(d, 'client.pem'), key: join(d, 'client.key') };
    copyFileSync(pki.files.ca, files.ca);
    copyFileSync(pki.files.cert, files.cert);
    copyFileSync(pki.files.key, files.key);
    const errors: string[] = [];
    let loads = 0;
    const watcher = new TlsWatcher(files, { onReload: () => void loads++, onError: (m) => errors.push(m) }, 20);
    watchers.push(watcher);
    watcher.start();
    renameSync(fifo('swap.fifo'), files.key);
    expect(await eventually(() => errors.length > 0, 3000)).toBe(true);
    expect(errors).toEqual([
      `new TLS files were not loaded (tls.key is neither PEM nor a readable file '${files.key}' (a FIFO, not a regular file)); the previous credentials stay in use`,
    ]);
    const next = await pki.newClient();
    writeAtomic(files.cert, next.cert);
    writeAtomic(files.key, next.key);
    expect(await eventually(() => loads === 1, 3000)).toBe(true);
  });
});
