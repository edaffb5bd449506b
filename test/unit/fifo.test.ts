import { describe, expect, it } from 'vitest';
import { Fifo } from '../../libs/mesh-client/src/client/call/fifo.js';

describe('Fifo: the queue of what a pushing request stream pushed ahead of the wire', () => {
  it('gives entries back in order, through compactions, with pushes in between', () => {
    const fifo = new Fifo<number>();
    const taken: number[] = [];
    let next = 0;
    // bursts of pushes larger than the takes between them: the queue grows past a compaction, then drains
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) fifo.push(next++);
      for (let i = 0; i < 200; i++) taken.push(fifo.shift()!);
    }
    expect(fifo.length).toBe(next - taken.length);
    while (fifo.length > 0) taken.push(fifo.shift()!);
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(fifo.shift()).toBeUndefined();
  });

  it('clear() empties it; it takes entries again after', () => {
    const fifo = new Fifo<string>();
    fifo.push('a');
    fifo.push('b');
    fifo.shift();
    fifo.clear();
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
    fifo.push('c');
    expect(fifo.shift()).toBe('c');
  });

  it('drains 1,000,000 entries without copying them per take (an array shift would take minutes)', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 1_000_000; i++) fifo.push(i);
    let sum = 0;
    for (let v = fifo.shift(); v !== undefined; v = fifo.shift()) sum += v;
    expect(sum).toBe((999_999 * 1_000_000) / 2);
  }, 20_000);
});
