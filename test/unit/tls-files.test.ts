import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsMaterialError, loadTlsMaterial } from '../../libs/mesh-client/src/security/tls-credentials.js';
import { readConfiguredFile, readConfiguredFileSync } from '../../libs/mesh-client/src/config/configured-file.js';
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

describe('a configured file is read no further than its limit, whatever its stat told', () => {
  const SMALL = { name: 'a test file', maxBytes: 100 };
  const both = async (path: string, kind = SMALL): Promise<string[]> => [
    await outcome(() => readConfiguredFileSync(path, kind)),
    await outcome(() => readConfiguredFile(path, kind)),
  ];

  // (found by a hostile review of 087e3c8: the size check trusted fstat, and /proc/self/pagemap,
  // whose stat tells 0, crashed the process reading it whole)
  it('a /proc file (its stat tells 0 bytes) over the limit is refused at the limit', async () => {
    expect(await both('/proc/self/maps')).toEqual(Array(2).fill('ConfiguredFileError: more than the 100 bytes a test file may hold'));
    expect(await both('/proc/self/smaps', { name: 'a token file', maxBytes: 4096 })).toEqual(
      Array(2).fill('ConfiguredFileError: more than the 4096 bytes a token file may hold'),
    );
    // 256 GiB behind a stat of 0 (read in steps of 8 bytes only: refused either way, at once)
    const began = performance.now();
    for (const refused of await both('/proc/self/pagemap', { name: 'a token file', maxBytes: 64 * 1024 }))
      expect(refused).toMatch(/^ConfiguredFileError: /);
    expect(performance.now() - began).toBeLessThan(1000);
  });

  it('a /proc file under the limit is read whole', async () => {
    const [sync, async] = await both('/proc/self/stat', { name: 'a test file', maxBytes: 64 * 1024 });
    expect(sync).toMatch(/^\d+ bytes$/);
    expect(async).toMatch(/^\d+ bytes$/);
    expect(readConfiguredFileSync('/proc/self/stat', { name: 'a test file', maxBytes: 64 * 1024 }).toString()).toMatch(
      new RegExp(`^${String(process.pid)} `),
    );
  });

  it('a regular file over the page the first read takes, at and over the limit', async () => {
    const path = join(dir, 'limit.bin');
    writeFileSync(path, Buffer.alloc(10_000, 0x42));
    expect(await both(path, { name: 'a test file', maxBytes: 10_000 })).toEqual(['10000 bytes', '10000 bytes']);
    expect(await both(path, { name: 'a test file', maxBytes: 9_999 })).toEqual(
      Array(2).fill('ConfiguredFileError: 10000 bytes, over the 9999 a test file may hold'),
    );
  });

  it('a Unix socket is named (its open fails before its stat)', async () => {
    const path = join(dir, 'tls.sock');
    const server = createServer().listen(path);
    await once(server, 'listening');
    try {
      expect(await both(path)).toEqual(Array(2).fill('ConfiguredFileError: ENXIO: a socket or a device with no driver, not a regular file'));
    } finally {
      server.close();
    }
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
