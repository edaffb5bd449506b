import { connect, type ConnectionOptions } from 'node:tls';

/** The HTTP/2 connection preface and an empty SETTINGS frame: what a gRPC client sends first. */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
const PROBE_TIMEOUT_MS = 1000;
/** One probe's verdict serves the failures of this long (calls failing together share it). */
const VERDICT_TTL_MS = 2000;

/** Where and how the probe connects: the client's own TLS settings. */
export interface TlsProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly options: ConnectionOptions;
  /** The client presents a certificate. */
  readonly presentsCertificate: boolean;
  /** When that certificate expires (epoch ms), if it could be read. */
  readonly certificateExpiresAt?: number;
}

function alertReason(code: string | undefined, message: string): string | undefined {
  const alert = /alert ([a-z ]+)/i.exec(message)?.[1]?.trim();
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || alert === 'certificate required') {
    return 'the server requires a client certificate (set tls.cert and tls.key)';
  }
  return alert ? `the server refused the client certificate (TLS alert: ${alert})` : undefined;
}

/**
 * Why the server refuses this client's TLS session, found by one TLS handshake of its own. With
 * TLS 1.3 the client's handshake completes before the server checks the client certificate; a
 * server that refuses it sends an alert and closes, which grpc-js reports only as "Failed to
 * connect" (retryable, as any connection failure). A gRPC server that accepts the session answers
 * the HTTP/2 preface at once; one that closes instead, after a completed handshake, refused the
 * client's certificate (or that there was none), unless `closeIsRefusal` is false (a server took
 * this certificate before: then only an alert is a refusal). Resolves undefined when the server
 * spoke HTTP/2, could not be reached, or did not answer in time: then the failure is not a TLS refusal.
 */
export function probeTlsRefusal(
  target: TlsProbeTarget,
  timeoutMs = PROBE_TIMEOUT_MS,
  signal?: AbortSignal,
  closeIsRefusal = true,
): Promise<string | undefined> {
  if (signal?.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let handshake = false;
    let spoke = false;
    let verdict: string | undefined;
    /** The probe ended it (its time was up, or the client closed): the close that follows is no refusal. */
    let ownEnd = false;
    const socket = connect({ ...target.options, host: target.host, port: target.port, ALPNProtocols: ['h2'] });
    const done = (reason: string | undefined, own = false): void => {
      verdict ??= reason;
      ownEnd ||= own;
      socket.destroy();
    };
    const timer = setTimeout(() => done(undefined, true), timeoutMs);
    // the client closed: its probe ends now (no socket or timer outlives app.close())
    const abort = (): void => done(undefined, true);
    signal?.addEventListener('abort', abort, { once: true });
    socket.once('secureConnect', () => {
      handshake = true;
      socket.write(PREFACE);
    });
    socket.once('data', () => {
      spoke = true;
      done(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(handshake ? alertReason(error.code, error.message) : undefined));
    socket.once('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      if (closeIsRefusal && handshake && !spoke && verdict === undefined && !ownEnd) {
        verdict = target.presentsCertificate
          ? 'the server refused the client certificate (it closed the connection right after the TLS handshake: it does not trust the CA that signed it, or the certificate expired, is not valid yet or was revoked)'
          : 'the server requires a client certificate (set tls.cert and tls.key)';
      }
      resolve(verdict);
    });
  });
}

/**
 * The TLS refusal check of one client: one probe at a time, its verdict shared by the failures of
 * the next {@link VERDICT_TTL_MS}.
 */
export class TlsRefusalCheck {
  private last: { at: number; closeIsRefusal: boolean; verdict: Promise<string | undefined> } | undefined;
  private readonly closing = new AbortController();
  private taken = false;

  constructor(
    private readonly target: TlsProbeTarget,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A server answered a call over this client's TLS session: it took this certificate. From then
   * on a connection closed right after the handshake, with no alert, is no refusal of it (a server
   * restarting, or closing connections it cannot serve), unless the certificate has expired since;
   * an alert naming the certificate (a server that stopped trusting it) still is.
   */
  accepted(): void {
    this.taken = true;
  }

  refusal(): Promise<string | undefined> {
    const now = this.now();
    const expires = this.target.certificateExpiresAt;
    // a close after the handshake counts until a server took this certificate (and again once it expired)
    const closeIsRefusal = !this.taken || (expires !== undefined && now >= expires);
    if (!this.last || now - this.last.at > VERDICT_TTL_MS || this.last.closeIsRefusal !== closeIsRefusal) {
      const verdict = probeTlsRefusal(this.target, PROBE_TIMEOUT_MS, this.closing.signal, closeIsRefusal);
      this.last = { at: now, closeIsRefusal, verdict };
    }
    return this.last.verdict;
  }

  /** The client's channels closed: a probe under way ends at once, none starts. */
  close(): void {
    this.closing.abort();
  }
}
