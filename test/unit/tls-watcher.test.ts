import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsWatcher } from '../../libs/mesh-client/src/security/tls-watcher.js';
import { createTestPki, writeAtomic, type TestPki } from '../support/pki.js';
import { eventually, sleep } from '../support/wait.js';

/** Files rotated under a watcher checking every 20 ms: what it reports, and how often it loads. */
describe('TlsWatcher: each set of files is loaded once', () => {
  let pki: TestPki;
  const watchers: TlsWatcher[] = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(() => watchers.forEach((w) => w.stop()));

  function watched(onReload: () => void): { files: { ca: string; cert: string; key: string }; errors: string[] } {
    const d = mkdtempSync(join(tmpdir(), 'mesh-watch-'));
    const files = { ca: join(d, 'ca.pem'), cert: join(d, 'client.pem'), key: join(d, 'client.key') };
    copyFileSync(pki.files.ca, files.ca);
    copyFileSync(pki.files.cert, files.cert);
    copyFileSync(pki.files.key, files.key);
    const errors: string[] = [];
    const watcher = new TlsWatcher(files, { onReload, onError: (m) => errors.push(m) }, 20);
    watchers.push(watcher);
    watcher.start();
    return { files, errors };
  }

  it('a client that cannot take the new set (onReload throws): warned once, not tried again every check', async () => {
    let loads = 0;
    const { files, errors } = watched(() => {
      loads++;
      throw new Error('no channel');
    });
    const next = await pki.newClient();
    writeAtomic(files.key, next.key);
    writeAtomic(files.cert, next.cert);
    expect(await eventually(() => loads > 0, 3000)).toBe(true);
    await sleep(400);
    expect(loads).toBe(1);
    expect(errors).toEqual(['new TLS files were not loaded (no channel could be made with them: no channel); the previous credentials stay in use']);
  });

  it('a key rotated before its certificate: refused once, then taken when the certificate follows', async () => {
    let loads = 0;
    const { files, errors } = watched(() => void loads++);
    const next = await pki.newClient();
    writeAtomic(files.key, next.key);
    expect(await eventually(() => errors.length > 0, 3000)).toBe(true);
    expect(errors).toEqual(['new TLS files were not loaded (tls.key does not belong to tls.cert); the previous credentials stay in use']);
    writeAtomic(files.cert, next.cert);
    expect(await eventually(() => loads > 0, 3000)).toBe(true);
    await sleep(200);
    expect(loads).toBe(1);
  });
});
