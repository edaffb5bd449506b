import type { TlsMaterial } from '../config/policies.js';
import { TLS_WATCH_INTERVAL_MS } from '../config/defaults.js';
import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { TlsMaterialError, loadTlsMaterial, tlsFiles } from './tls-credentials.js';
import { readTlsFile, readTlsFileSync } from './tls-files.js';

/** What a watcher reports. Messages name files and fields, never their content. */
export interface TlsWatchEvents {
  onReload(material: TlsMaterial): void;
  onError(message: string): void;
}

/**
 * Watches the certificate, key and CA files of a client by polling their content (robust against
 * the rename-swap of Kubernetes secret volumes, where fs.watch loses track). A changed set that
 * loads and checks out is reported with `onReload`; a broken one with `onError` (once per distinct
 * content), and the old credentials stay in use.
 */
export class TlsWatcher {
  private timer: NodeJS.Timeout | undefined;
  private lastSeen: string;
  private lastBad = '';
  /** A set refused for good (read again only once the files change). */
  private refused = '';
  private checking = false;

  constructor(
    private readonly tls: MeshTlsOptions,
    private readonly events: TlsWatchEvents,
    private readonly intervalMs = TLS_WATCH_INTERVAL_MS,
  ) {
    // the files as start read them (once, at start: the module already read them synchronously)
    this.lastSeen = tlsFiles(this.tls)
      .map((file) => readOrEmpty(() => readTlsFileSync(file)))
      .join('|');
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The files' content now, read without blocking the event loop (a file that is no regular file,
   * or too large, reads as empty: the set then fails to load, and is warned about).
   */
  private async snapshot(): Promise<string> {
    const contents = await Promise.all(tlsFiles(this.tls).map((file) => readTlsFile(file).then(base64, () => '')));
    return contents.join('|');
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const seen = await this.snapshot();
      if (!this.timer) return;
      if (seen !== this.lastSeen) this.changed(seen);
      else this.lastBad = this.refused = ''; // back to the set in use: a bad set coming again is warned about again
    } finally {
      this.checking = false;
    }
  }

  /**
   * Files that differ from the ones in use: loaded, or warned about once. A set refused is not
   * read again until the files change, except a certificate that is not valid yet, tried at every
   * check until it is. Once the client adopted a set, a failure after that (a listener, the log)
   * does not make it load the set again.
   */
  private changed(seen: string): void {
    if (seen === this.refused) return;
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(this.tls, true);
      this.events.onReload(material); // throws only when no channel could be made: nothing was adopted
    } catch (error) {
      this.warnOnce(seen, error);
      if (!(error instanceof TlsMaterialError && error.notYet)) this.refused = seen;
      return;
    }
    this.lastSeen = seen;
    this.lastBad = '';
    this.refused = '';
  }

  private warnOnce(seen: string, error: unknown): void {
    if (seen === this.lastBad) return;
    this.lastBad = seen;
    // (OpenSSL's and grpc-js's reasons name encodings and fields, never key bytes)
    const reason = error instanceof TlsMaterialError ? error.message : `no channel could be made with them: ${describeThrown(error)}`;
    this.events.onError(`new TLS files were not loaded (${reason}); the previous credentials stay in use`);
  }
}

const base64 = (bytes: Buffer): string => bytes.toString('base64');

function readOrEmpty(read: () => Buffer): string {
  try {
    return base64(read());
  } catch {
    return '';
  }
}
