import type { ExecutionContext } from '@nestjs/common';
import type { ClsInitContext } from 'nestjs-cls';
import type { HeaderReader } from './incoming-context.js';

/** Where an incoming request's context is read from: its headers or metadata, and a gRPC call's own deadline. */
export interface RequestSource {
  readonly read: HeaderReader;
  readonly deadline: Date | undefined;
}

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
function httpSource(request: HttpRequestLike): RequestSource {
  const distinct = request.headersDistinct ?? request.raw?.headersDistinct;
  if (distinct) return { read: (k) => distinct[k]?.[0], deadline: undefined };
  const headers = request.headers ?? {};
  const read: HeaderReader = (k) => {
    const v = headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  return { read, deadline: undefined };
}

/** An HTTP request (Express or Fastify) or a gRPC call of a Nest microservice handler; undefined for other transports. */
export function sourceOfExecution(context: ExecutionContext): RequestSource | undefined {
  if (context.getType() === 'http') return httpSource(context.switchToHttp().getRequest<HttpRequestLike>());
  if (context.getType() !== 'rpc') return undefined;
  const [, metadata, call] = context.getArgs<[unknown, MetadataLike | undefined, GrpcCallLike | undefined]>();
  if (!metadata || typeof metadata.get !== 'function') return undefined;
  const raw = call?.getDeadline?.();
  const deadline = raw === undefined || raw === Infinity ? undefined : new Date(raw);
  const read: HeaderReader = (k) => {
    const v = metadata.get(k)[0];
    return v === undefined ? undefined : String(v);
  };
  return { read, deadline };
}

/** What a nestjs-cls initializer saw: the middleware's request, or the guard's / interceptor's execution context. */
export function sourceOfClsInit(init: ClsInitContext): RequestSource | undefined {
  if (init.kind === 'middleware') return httpSource(init.req as HttpRequestLike);
  if (init.kind === 'guard' || init.kind === 'interceptor') return sourceOfExecution(init.ctx);
  return undefined;
}
