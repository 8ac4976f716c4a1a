import { describe, expect, it } from 'vitest';
import { asyncPort } from '../../server/services/async-port';
import { runAsync, runSync, step, type MaybeAsync, type Step } from '../../server/services/maybe-async';

interface Counter {
  get(k: string): number;
  add(k: string, n: number): void;
}

function memoryCounter(): Counter {
  const m = new Map<string, number>();
  return { get: (k) => m.get(k) ?? 0, add: (k, n) => void m.set(k, (m.get(k) ?? 0) + n) };
}

function* bump(c: MaybeAsync<Counter>, k: string): Step<number> {
  const before = yield* step(c.get(k));
  yield* step(c.add(k, before + 1));
  return yield* step(c.get(k));
}

describe('maybe-async steps', () => {
  it('one generator runs on a synchronous port without waiting, and on an asynchronous one awaiting each call', async () => {
    const sync = memoryCounter();
    expect(runSync(bump(sync, 'a'))).toBe(1);
    expect(runSync(bump(sync, 'a'))).toBe(3);
    const inner = memoryCounter();
    expect(await runAsync(bump(asyncPort(inner), 'b'))).toBe(1);
    expect(await runAsync(bump(asyncPort(inner), 'b'))).toBe(3);
  });

  it('runSync refuses a port that answers with a promise (it would escape the transaction)', () => {
    expect(() => runSync(bump(asyncPort(memoryCounter()), 'a'))).toThrow(/asynchronous port/);
  });

  it('a rejection is thrown into the generator where it waited, so it may catch it', async () => {
    const failing = { get: () => Promise.reject(new Error('gone')), add: () => Promise.resolve() };
    function* guarded(): Step<string> {
      try {
        yield* step(failing.get());
        return 'no';
      } catch (e) {
        return (e as Error).message;
      }
    }
    expect(await runAsync(guarded())).toBe('gone');
    await expect(runAsync(bump(failing as unknown as MaybeAsync<Counter>, 'x'))).rejects.toThrow('gone');
  });
});
