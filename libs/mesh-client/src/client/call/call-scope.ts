import { AsyncResource } from 'node:async_hooks';
import type { InterceptingListener, Metadata, StatusObject } from '@grpc/grpc-js';
import type { CallContext } from '../../security/call-context.interface.js';

/**
 * The async context a call was subscribed in (the caller's: its nestjs-cls store, its trace). What
 * reaches a call from outside runs in it: grpc-js calls its listeners in the context of whatever
 * opened the connection (another request), one timer serves every call's deadline, a permit comes
 * back from another call. Whatever that runs (the caller's next operator, a call chained on the
 * result that reads its context, a plugin's hook, a request iterator) sees the caller's context.
 */
export function callScope(): AsyncResource {
  return new AsyncResource('MeshClientCall');
}

/** The token of the caller's context now (a `set()` since the call began changes it); undefined when none can be read. */
export function tokenNow(context: (() => CallContext | undefined) | undefined): string | undefined {
  try {
    return context?.()?.security?.token;
  } catch {
    return undefined;
  }
}

/** grpc-js's listener of one attempt: each callback enters the call's scope. */
export class ListenerInScope implements InterceptingListener {
  constructor(
    private readonly scope: AsyncResource,
    private readonly target: InterceptingListener,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.scope.runInAsyncScope(this.target.onReceiveMetadata, this.target, metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.scope.runInAsyncScope(this.target.onReceiveMessage, this.target, message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.scope.runInAsyncScope(this.target.onReceiveStatus, this.target, status);
  }
}
