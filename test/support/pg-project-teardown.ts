import { randomBytes } from 'node:crypto';
import { dropWorldSchemas } from './test-store';

/**
 * The `node-pg` project's global setup: names this run (its child-process worlds' schemas carry the
 * id: worldSchema), and after its files drops the schemas they left — this run's only, never those
 * of another run or a bench on the same server.
 */
export default function setup(): () => Promise<void> {
  const run = randomBytes(4).toString('hex');
  process.env.OMNI_TEST_RUN = run;
  return async () => {
    await dropWorldSchemas(run);
  };
}
