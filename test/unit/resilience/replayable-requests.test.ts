import { Subject, firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ReplayableRequests } from '../../../libs/mesh-client/src/resilience/replayable-requests.js';

describe('ReplayableRequests', () => {
  it('replays what was sent to a retry attempt, then continues live, subscribing the source once', () => {
    const source = new Subject<number>();
    const requests = new ReplayableRequests(source);
    const first: number[] = [];
    const sub = requests.attempt$.subscribe((v) => first.push(v));
    source.next(1);
    source.next(2);
    sub.unsubscribe();
    const second: number[] = [];
    let completed = false;
    requests.attempt$.subscribe({ next: (v) => second.push(v), complete: () => (completed = true) });
    source.next(3);
    source.complete();
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([1, 2, 3]);
    expect(completed).toBe(true);
    expect(requests.replayable).toBe(true);
  });

  it('a completed cold source replays whole to the next attempt', async () => {
    const requests = new ReplayableRequests(from(['a', 'b']));
    expect(await firstValueFrom(requests.attempt$.pipe(toArray()))).toEqual(['a', 'b']);
    expect(await firstValueFrom(requests.attempt$.pipe(toArray()))).toEqual(['a', 'b']);
  });

  it('is no longer replayable once more messages were sent than it keeps', () => {
    const source = new Subject<number>();
    const requests = new ReplayableRequests(source, 2);
    requests.attempt$.subscribe();
    source.next(1);
    source.next(2);
    expect(requests.replayable).toBe(true);
    source.next(3);
    expect(requests.replayable).toBe(false);
  });

  it('close() unsubscribes the caller stream', () => {
    const source = new Subject<number>();
    const requests = new ReplayableRequests(source);
    requests.attempt$.subscribe();
    expect(source.observed).toBe(true);
    requests.close();
    expect(source.observed).toBe(false);
  });
});

describe('ReplayableRequests.release', () => {
  it('forgets what it kept and keeps nothing more once the call committed', () => {
    const source = new Subject<number>();
    const requests = new ReplayableRequests(source);
    requests.attempt$.subscribe();
    source.next(1);
    requests.release();
    source.next(2);
    expect(requests.replayable).toBe(false);
    const replayed: number[] = [];
    requests.attempt$.subscribe((v) => replayed.push(v));
    expect(replayed).toEqual([]);
  });
});
