import { describe, expect, it } from 'vitest';
import { asyncPort } from '../../server/services/async-port';

interface Counter {
  add(n: number): number;
  fail(): void;
}

describe('asyncPort', () => {
  it('answers each method of a synchronous implementation as a promise, with its this', async () => {
    let total = 0;
    const sync: Counter = {
      add(n) {
        total += n;
        return total;
      },
      fail() {
        throw new Error('refused');
      },
    };
    const port = asyncPort(sync);
    const pending = port.add(2);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBe(2);
    await expect(port.add(3)).resolves.toBe(5);
    // a throw becomes a rejection, never a synchronous throw
    const failed = port.fail();
    await expect(failed).rejects.toThrow('refused');
  });
});
