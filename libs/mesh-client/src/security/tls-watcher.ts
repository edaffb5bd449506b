import { readFileSync } from 'node:fs';
import type { MeshTlsOptions } from '../module/mesh-client-options.interface.js';
import { TlsMaterialError, loadTlsMaterial, tlsFiles, type TlsMaterial } from './tls-credentials.js';

/** How often the files are checked. Rotation is picked up within this (plus a handshake). */
export const TLS_WATCH_INTERVAL_MS = 500;

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

  constructor(private readonly tls: MeshTlsOptions, private readonly events: TlsWatchEvents, private readonly intervalMs = TLS_WATCH_INTERVAL_MS) {
    this.lastSeen = this.snapshot();
  }

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private snapshot(): string {
    return tlsFiles(this.tls)
      .map((file) => {
        try {
          return readFileSync(file).toString('base64');
        } catch {
          return '';
        }
      })
      .join('|');
  }

  private check(): void {
    const seen = this.snapshot();
    if (seen === this.lastSeen) return;
    try {
      const material = loadTlsMaterial(this.tls);
      this.lastSeen = seen;
      this.lastBad = '';
      this.events.onReload(material);
    } catch (error) {
      if (seen === this.lastBad) return;
      this.lastBad = seen;
      const reason = error instanceof TlsMaterialError ? error.message : 'unreadable';
      this.events.onError(`new TLS files were not loaded (${reason}); the previous credentials stay in use`);
    }
  }
}
