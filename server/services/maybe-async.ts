import type { AsyncPort } from './async-port';

/**
 * Code written once for both stores (issue #12). The UIS callback handlers run inside the intake's
 * synchronous SQLite transaction, and on PostgreSQL inside an asynchronous one: they are written as
 * generators over `MaybeAsync` ports — `const chat = yield* step(repo.chat(m, id))` — and driven by
 * `runSync` (SQLite: a yielded promise is a defect) or `runAsync` (PostgreSQL: each promise awaited).
 */
export type MaybeAsync<T> = T | AsyncPort<T>;

/** A handler's work: yields the promises it waits for, returns its result. */
export type Step<T> = Generator<PromiseLike<unknown>, T, unknown>;

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';

/** The value of a port call, sync or async: `yield* step(port.method(…))`. */
export function* step<T>(v: T | PromiseLike<T>): Step<T> {
  if (!isThenable(v)) return v;
  return (yield v) as T;
}

/** Runs a step that must not wait (every port it calls is synchronous): its result, or its throw. */
export function runSync<T>(g: Step<T>): T {
  const r = g.next();
  if (!r.done) {
    g.return(undefined as T);
    throw new Error('an asynchronous port was called where only synchronous ones may run (inside a SQLite transaction)');
  }
  return r.value;
}

/** Runs a step, awaiting each promise it yields and handing back its value (or throwing its rejection into it). */
export async function runAsync<T>(g: Step<T>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = await r.value;
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(value);
  }
  return r.value;
}
