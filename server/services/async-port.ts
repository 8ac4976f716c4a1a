/**
 * The asynchronous form of a port the services still call synchronously (issue #12). SQLite
 * answers at once, so the older ports (portals, UIS link and channels, inboxes, bridge, analytics,
 * CRM rules and requests, employee sync) return plain values; PostgreSQL cannot. Their PostgreSQL
 * stores implement `AsyncPort<…>` of the same interface — same methods, same meaning, each result a
 * promise — and the services move to it port by port. `asyncPort` wraps a synchronous
 * implementation (the SQLite one), so both stores answer the same contract tests.
 */
export type AsyncPort<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K];
};

/** The synchronous implementation behind the asynchronous port: each call's result (or throw) as a promise. */
export function asyncPort<T extends object>(sync: T): AsyncPort<T> {
  return new Proxy(sync, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          return Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args));
        } catch (e) {
          return Promise.reject(e);
        }
      };
    },
  }) as unknown as AsyncPort<T>;
}
