import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RequestReplay } from '../../libs/mesh-client/src/client/call/request-replay.js';
import { status } from '@grpc/grpc-js';
import { requestStreamFailure } from '../../libs/mesh-client/src/client/call/request-stream-failure.js';
import { REPLAY_BUFFER_MESSAGES } from '../../libs/mesh-client/src/config/defaults.js';
import { localError } from '../../libs/mesh-client/src/errors/to-mesh-error.js';

const site = { client: 'c', service: 's', method: 'Stream', maxMessageBytes: 1024 };

/** A caller's Subject taken by a replay (started, as at the call's start). */
function replayOf(): { caller: Subject<number>; replay: RequestReplay } {
  const caller = new Subject<number>();
  const replay = new RequestReplay(caller, site);
  replay.start();
  return { caller, replay };
}

describe('RequestReplay: what intercepting plugins see of a pushing request stream', () => {
  it('a subscriber joining late gets everything pushed before it, then the rest, in order', () => {
    const { caller, replay } = replayOf();
    for (let i = 0; i < 3; i++) caller.next(i);
    const got: number[] = [];
    replay.view.subscribe((v) => got.push(v as number));
    caller.next(3);
    expect(got).toEqual([0, 1, 2, 3]);
  });

  it('a push made while the first subscriber catches up on more than the buffer holds: nothing is dropped', () => {
    const { caller, replay } = replayOf();
    const total = REPLAY_BUFFER_MESSAGES + 44;
    for (let i = 0; i < total; i++) caller.next(i);
    const got: number[] = [];
    let done = false;
    replay.view.subscribe({
      next: (v) => {
        got.push(v as number);
        if (v === 10) {
          caller.next(-1); // a producer reacting to progress, while the replay is at message 10
          caller.complete();
        }
      },
      complete: () => (done = true),
    });
    expect(got).toEqual([...Array.from({ length: total }, (_, i) => i), -1]);
    expect(done).toBe(true);
  });

  it('a push made while another subscriber is handed a message reaches every subscriber after it, in order', () => {
    const { caller, replay } = replayOf();
    const watcher: number[] = [];
    const run: number[] = [];
    replay.view.subscribe((v) => {
      watcher.push(v as number);
      if (v === 1) caller.next(2);
    });
    replay.view.subscribe((v) => run.push(v as number));
    caller.next(1);
    caller.next(3);
    expect(watcher).toEqual([1, 2, 3]);
    expect(run).toEqual([1, 2, 3]);
  });

  it('a subscriber joining from inside a hand-out gets each message once', () => {
    const { caller, replay } = replayOf();
    const late: number[] = [];
    replay.view.subscribe((v) => {
      if (v === 1) {
        caller.next(2); // waits its turn
        replay.view.subscribe((w) => late.push(w as number));
      }
    });
    caller.next(1);
    caller.next(3);
    expect(late).toEqual([1, 2, 3]);
  });

  it("the call's end completes whoever still reads it (a plugin's own subscription), and lets go of the caller's stream", () => {
    const { caller, replay } = replayOf();
    let completed = 0;
    replay.view.subscribe({ complete: () => completed++ });
    replay.close();
    expect(completed).toBe(1);
    expect(caller.observed).toBe(false);
  });

  it('after the call committed, a new subscription is refused with an error saying why', () => {
    const { caller, replay } = replayOf();
    replay.view.subscribe(() => undefined);
    caller.next(1);
    replay.release();
    let failure: unknown;
    replay.view.subscribe({ error: (e: unknown) => (failure = e) });
    expect(String(failure)).toMatch(/the request stream cannot be sent again/);
    // a run reading it fails with this error as it is ('internal'), not as a failing caller's stream ('cancelled')
    expect(requestStreamFailure(site, failure, 1)).toBe(failure);
    expect(failure).toMatchObject({ category: 'internal' });
  });

  it("another call's MeshClientError, as a request stream's error: this call's 'cancelled', the other kept as the cause", () => {
    const other = localError({ ...site, client: 'other' }, status.UNAVAILABLE, 'the other call failed');
    const failure = requestStreamFailure(site, other, 2);
    expect(failure).toMatchObject({ category: 'cancelled', client: 'c', attempts: 2 });
    expect(failure.message).toContain('the request stream failed: ');
    expect(failure.cause).toBe(other);
  });
});
