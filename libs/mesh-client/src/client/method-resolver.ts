import { status as Status } from '@grpc/grpc-js';
import { didYouMean } from '../errors/did-you-mean.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { MeshClientError } from '../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../errors/to-mesh-error.js';
import { methodLookup, type CallKind, type MethodInfo } from '../proto/method-table.js';

/** What to call for each kind of RPC (in the error of a call made the wrong way). */
const RIGHT_CALL: Record<CallKind, string> = {
  unary: 'unary() or request()',
  'server-stream': 'serverStream() or iterate()',
  'client-stream': 'clientStream()',
  bidi: 'bidiStream() or iterate()',
};

/** The method each kind of call is made with. */
export const CALL_OF_KIND: Record<CallKind, string> = {
  unary: 'unary()',
  'server-stream': 'serverStream()',
  'client-stream': 'clientStream()',
  bidi: 'bidiStream()',
};

/**
 * Finds the RPC a call names (its RPC name or an alias: Nest's, lowerCamel), and says why not when
 * it cannot: an unknown name ('unimplemented', with the RPCs and the nearest name), or the wrong
 * kind of call ('invalid-request', naming the right one). Nothing is sent either way.
 */
export class MethodResolver {
  private readonly lookup: ReadonlyMap<string, MethodInfo>;

  constructor(
    private readonly methods: ReadonlyMap<string, MethodInfo>,
    private readonly site: Omit<CallSite, 'method'>,
  ) {
    this.lookup = methodLookup(methods.values());
  }

  /** The method called `name`, whatever its kind; undefined when there is none. */
  find(name: unknown): MethodInfo | undefined {
    return typeof name === 'string' ? this.lookup.get(name) : undefined;
  }

  /** The method called `name` of kind `kind`, or the error of the call (`via`: how it was made). */
  resolve(kind: CallKind, name: unknown, via: string): MethodInfo | MeshClientError {
    const method = this.find(name);
    if (method?.kind === kind) return method;
    const site = this.siteOf(name);
    if (!method) return localError(site, Status.UNIMPLEMENTED, `${this.notAnRpc(`'${site.method}'`, name)}; nothing was sent`);
    const details = `'${method.name}' is a ${method.kind} RPC: call ${RIGHT_CALL[method.kind]}, not ${via}; nothing was sent`;
    return localError(site, Status.INVALID_ARGUMENT, details);
  }

  /** Throws: `name`, given to `via`, is no RPC of the service (a programming error, as an unknown client name is). */
  unknown(via: string, name: unknown): never {
    const shown = typeof name === 'string' ? `'${name.slice(0, 100)}'` : `a ${typeof name}`;
    throw new MeshConfigError(`${via}: ${this.notAnRpc(shown, name)}`);
  }

  /** "`shown` is not an RPC of S (RPCs: ...)", and the nearest name when `name` is close to one. */
  private notAnRpc(shown: string, name: unknown): string {
    const near = typeof name === 'string' ? didYouMean(name, this.lookup.keys()) : '';
    return `${shown} is not an RPC of ${this.site.service} (RPCs: ${[...this.methods.keys()].join(', ')})${near}`;
  }

  /** A caller's mistake about the method `name` (its site even when `name` is no RPC). */
  refuse(name: unknown, problem: string): MeshClientError {
    return callerError(this.find(name)?.site ?? this.siteOf(name), problem);
  }

  private siteOf(name: unknown): CallSite {
    const shown = typeof name === 'string' ? name.slice(0, 100) : `(a ${typeof name})`;
    return { ...this.site, method: shown };
  }
}
