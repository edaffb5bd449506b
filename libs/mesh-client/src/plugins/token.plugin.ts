import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { status } from '@grpc/grpc-js';
import { fileProblemOf, readConfiguredFile, type FileKind } from '../config/configured-file.js';
import type { MeshAttempt, MeshAttemptEnd, MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { METADATA_KEY, TRANSPORT_HEADERS } from '../config/metadata-keys.js';
import { noteSecret } from '../errors/call-secrets.js';

/** Where a TokenPlugin's token comes from. */
export interface TokenPluginOptions {
  /**
   * A function giving the token; called for the first attempt, and with `{ refresh: true }` when
   * the server refused the token it gave (UNAUTHENTICATED). Give this or `file`.
   */
  source?: (request: { refresh: boolean }) => string | Promise<string>;
  /**
   * A file holding the token (e.g. a Kubernetes projected service-account token), read again when
   * it changes on disk or when the server refused its token. Give this or `source`. Only a regular
   * file of at most 64 KiB is read (a FIFO or a device in its place fails the fetch, naming what it is).
   */
  file?: string;
  /** Metadata key that carries the token. Default 'authorization'. */
  header?: string;
  /** Written before the token. Default 'Bearer ' for `authorization`, '' for other keys. */
  scheme?: string;
  /** Plugin name (in errors and logs). Default 'token'. */
  name?: string;
}

/** A token file: a JWT of a few KB, far under what one gRPC header may carry. */
const TOKEN_FILE: FileKind = { name: 'a token file', maxBytes: 64 * 1024 };

const PRINTABLE = /^[\x21-\x7e]+$/;
const METADATA_TEXT = /^[\x20-\x7e]*$/;

/** A header or scheme option, quoted for an error (neither is secret): what metadata cannot carry shown as \uXXXX. */
const shown = (value: unknown): string =>
  typeof value === 'string'
    ? JSON.stringify(value.slice(0, 64)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : value === null
      ? 'null'
      : typeof value;

/** Why `header` cannot carry a token, or undefined (grpc-js lower-cases keys, so capitals may stay). */
function headerProblemOf(header: unknown): string | undefined {
  if (typeof header !== 'string') return `a metadata key must be a string, got ${shown(header)}`;
  const key = header.toLowerCase();
  if (!METADATA_KEY.test(key)) return `metadata key ${shown(header)} is invalid: keys are letters, digits, '_', '-' and '.'`;
  if (key.endsWith('-bin')) return `metadata key ${shown(header)} ends in '-bin', but a token is text`;
  if (key.startsWith('grpc-')) return `metadata key ${shown(header)} is reserved for gRPC itself`;
  if (TRANSPORT_HEADERS.has(key)) return `metadata key ${shown(header)} is an HTTP/2 or gRPC transport header, which a call cannot set`;
  return undefined;
}

/**
 * Puts this service's own token on every attempt (workload identity), from a function or a token
 * file. When the server answers UNAUTHENTICATED, the token is refreshed once for all the calls
 * that failed with it (single flight) and each of them is replayed once with the new token. A
 * source that hangs holds no call past its deadline, and is asked again by the first call that
 * comes after the deadline of the call that started the hung fetch. The token is never logged nor put in an error.
 *
 * With the default `authorization` key it replaces the caller's token that the security context
 * propagates: the call then authenticates as this service. Set `header` (e.g.
 * 'x-service-authorization') to send both.
 *
 * @example
 * MeshClientModule.forRoot({ plugins: [new TokenPlugin({ file: '/var/run/secrets/tokens/mesh-token' })], clients })
 */
export class TokenPlugin implements MeshClientPlugin {
  /** `options.name`, or the plugin's default name. */
  readonly name: string;
  private readonly header: string;
  private readonly scheme: string;
  private current: string | undefined;
  /** The fetch in progress, shared by the calls waiting for it until the last of their deadlines. */
  private flight: { readonly promise: Promise<string>; readonly until: number } | undefined;
  private stale = true;
  private watcher: FSWatcher | undefined;
  private readonly used = new WeakMap<MeshAttempt, string>();

  /** See `TokenPluginOptions` (docs/reference/options.md). */
  constructor(private readonly options: TokenPluginOptions) {
    if ((options.source === undefined) === (options.file === undefined)) throw new TypeError('TokenPlugin: give exactly one of source and file');
    this.name = options.name ?? 'token';
    // checked here, not by grpc-js at the first call: its error would quote the scheme and the token after it
    const header = options.header ?? 'authorization';
    const headerProblem = headerProblemOf(header);
    if (headerProblem) throw new TypeError(`TokenPlugin option 'header': ${headerProblem}`);
    this.header = (header as string).toLowerCase();
    // (the default scheme goes with the exact key 'authorization', as it always has)
    this.scheme = options.scheme ?? (header === 'authorization' ? 'Bearer ' : '');
    if (typeof this.scheme !== 'string' || !METADATA_TEXT.test(this.scheme))
      throw new TypeError(`TokenPlugin option 'scheme': must be printable ASCII (spaces allowed), got ${shown(this.scheme)}`);
  }

  beforeAttempt(attempt: MeshAttempt): void | Promise<void> {
    if (!this.stale && this.current !== undefined) return this.apply(attempt, this.current);
    return this.load(false, attempt.call.deadline).then((token) => this.apply(attempt, token));
  }

  afterAttempt(attempt: MeshAttempt, end: MeshAttemptEnd): void | 'replay' | Promise<'replay'> {
    if (end.code !== status.UNAUTHENTICATED) return undefined;
    const used = this.used.get(attempt);
    // another call refreshed it since this attempt left: just try the new one
    if (used !== this.current) return 'replay';
    return this.load(true, attempt.call.deadline).then(() => 'replay');
  }

  onModuleDestroy(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private apply(attempt: MeshAttempt, token: string): void {
    this.used.set(attempt, token);
    // a plugin quoting the header it was refused with gets the token masked, as the caller's
    noteSecret(attempt.call, token);
    attempt.metadata.set(this.header, `${this.scheme}${token}`);
  }

  /**
   * The token, fetched once for every call waiting on it (single flight). A fetch is shared until
   * the deadline of the call that started it: one that takes longer than a whole call may take is
   * hung, and a call that comes after that asks the source again instead of joining a fetch that
   * may never end (every call waits up to its own deadline, never longer).
   */
  private load(refresh: boolean, deadline: Date): Promise<string> {
    const flight = this.flight;
    if (flight && Date.now() < flight.until) return flight.promise;
    const next: { promise: Promise<string>; readonly until: number } = {
      promise: this.fetch(refresh).then(
        (token) => {
          if (this.flight === next) {
            this.current = token;
            this.stale = false;
            this.flight = undefined;
          }
          return token;
        },
        (error: unknown) => {
          if (this.flight === next) this.flight = undefined;
          throw error;
        },
      ),
      until: deadline.getTime(),
    };
    this.flight = next;
    return next.promise;
  }

  private async fetch(refresh: boolean): Promise<string> {
    const raw = this.options.file !== undefined ? await this.readFile() : await this.options.source!({ refresh });
    const token = typeof raw === 'string' ? raw.trim() : '';
    if (!PRINTABLE.test(token))
      throw new Error(`the token ${this.options.file ? 'file' : 'source'} gave no token gRPC metadata can carry (printable ASCII, no spaces)`);
    return token;
  }

  private async readFile(): Promise<string> {
    const file = this.options.file!;
    this.watcher ??= this.watch(file);
    try {
      return (await readConfiguredFile(file, TOKEN_FILE)).toString('utf8');
    } catch (error) {
      throw new Error(`cannot read the token file (${fileProblemOf(error)})`, { cause: error });
    }
  }

  /** Marks the token stale when its file (or the folder a secret volume swaps) changes. */
  private watch(file: string): FSWatcher | undefined {
    try {
      const name = basename(file);
      const watcher = watch(dirname(file), (_event, changed) => {
        if (!changed || changed === name || changed.startsWith('..')) this.stale = true;
      });
      watcher.on('error', () => (this.stale = true));
      watcher.unref();
      return watcher;
    } catch {
      return undefined;
    }
  }
}
