import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/**
 * Runs calls of `module`'s exports, one after the other, in a worker thread that is stopped when
 * one of them has not returned within `limitMs`: a super-linear pattern on a long text blocks its
 * thread for minutes, and a test must fail, not hang. `limitMs` is a bound for "does not finish",
 * far above what a linear pass takes. Resolves with each call's result, or with `finished: false`
 * and the index of the call that did not return.
 */
export async function runBounded(
  module: URL,
  calls: Array<[name: string, args: unknown[]]>,
  limitMs: number,
): Promise<{ finished: true; results: unknown[] } | { finished: false; stuckAt: number }> {
  const tsx = fileURLToPath(import.meta.resolve('tsx/esm/api'));
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(`file://${tsx}`)})
      .then(({ register }) => { register(); return import(workerData.module); })
      .then((m) => {
        parentPort.postMessage({ ready: true });
        workerData.calls.forEach(([name, args], i) => parentPort.postMessage({ i, result: m[name](...args) }));
      })
      .catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
  `;
  const worker = new Worker(code, { eval: true, workerData: { module: module.href, calls } });
  const results: unknown[] = [];
  try {
    return await new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve({ finished: false, stuckAt: results.length }), limitMs);
      };
      worker.on('message', (m: { ready?: true; i?: number; result?: unknown; error?: string }) => {
        if (m.error) return reject(new Error(m.error));
        if (!m.ready) results.push(m.result);
        if (results.length === calls.length) {
          clearTimeout(timer);
          return resolve({ finished: true, results });
        }
        arm(); // the clock of the next call starts when the previous one returned (or the module loaded)
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } finally {
    await worker.terminate();
  }
}
