import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import type { HandlerCallOptions } from './call-context.interface.js';
import { incomingContext, type HeaderReader } from './incoming-context.js';
import { MESH_CALL_OPTIONS } from './mesh-call-options.decorator.js';
import { MeshContext } from './mesh-context.service.js';

/** Token of the extra context keys allowed to travel (module option `contextExtraKeys`). */
export const MESH_CONTEXT_EXTRA_KEYS = Symbol.for('@datapunk/mesh-client:context-extra-keys');

interface GrpcCallLike {
  getDeadline?: () => Date | number;
}
interface MetadataLike {
  get(key: string): unknown[];
}

interface HttpRequestLike {
  headers?: Record<string, string | string[] | undefined>;
  /** Node's per-header value lists (Express' request, Fastify's `raw`). */
  headersDistinct?: Record<string, string[] | undefined>;
  raw?: { headersDistinct?: Record<string, string[] | undefined> };
}

/** The first value of each header: Node joins a repeated header into one string in `headers`. */
function httpReader(request: HttpRequestLike): HeaderReader {
  const distinct = request.headersDistinct ?? request.raw?.headersDistinct;
  if (distinct) return (k) => distinct[k]?.[0];
  const headers = request.headers ?? {};
  return (k) => {
    const v = headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
}

function readerOf(context: ExecutionContext): { read: HeaderReader; deadline: Date | undefined } | undefined {
  if (context.getType() === 'http') return { read: httpReader(context.switchToHttp().getRequest<HttpRequestLike>()), deadline: undefined };
  if (context.getType() === 'rpc') {
    const [, metadata, call] = context.getArgs<[unknown, MetadataLike | undefined, GrpcCallLike | undefined]>();
    if (!metadata || typeof metadata.get !== 'function') return undefined;
    const raw = call?.getDeadline?.();
    const deadline = raw === undefined || raw === Infinity ? undefined : new Date(raw);
    return { read: (k) => { const v = metadata.get(k)[0]; return v === undefined ? undefined : String(v); }, deadline };
  }
  return undefined;
}

/**
 * Fills the MeshContext of every incoming HTTP request (Express or Fastify) and gRPC call (Nest
 * microservice handlers) from its headers / metadata, and applies `@MeshCallOptions`. Registered
 * globally by MeshClientModule.
 */
@Injectable()
export class MeshContextInterceptor implements NestInterceptor {
  private readonly logger = new Logger('MeshContext');

  constructor(
    private readonly meshContext: MeshContext,
    private readonly reflector: Reflector,
    private readonly extraKeys: readonly string[],
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const source = readerOf(context);
    if (!source) return next.handle();
    const { context: security, refused } = incomingContext(source.read, Date.now(), source.deadline, this.extraKeys);
    if (refused.length > 0) this.logger.debug(`incoming ${refused.join(', ')} not taken: not a value that may travel on (checked: printable ASCII, length; traceparent: W3C trace-context)`);
    const options = this.reflector.getAllAndOverride<HandlerCallOptions | undefined>(MESH_CALL_OPTIONS, [context.getHandler(), context.getClass()]);
    return new Observable((subscriber) =>
      this.meshContext.ensureScope(() => {
        this.meshContext.enter(security, options);
        return next.handle().subscribe(subscriber);
      }),
    );
  }
}
