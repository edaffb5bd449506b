export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds or `ms` passed; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

/** Lets every pending callback of the current turn run (process.nextTick, promise jobs, warnings). */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
