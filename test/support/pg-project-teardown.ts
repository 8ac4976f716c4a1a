import { dropWorldSchemas } from './test-store';

/** The `node-pg` project's global setup: after its files, drop the schemas child-process worlds left. */
export default function setup(): () => Promise<void> {
  return async () => {
    await dropWorldSchemas();
  };
}
