import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/logging';

/** A real logger (same redaction as production) writing into memory, so tests can read every line. */
export function captureLogs(level = 'debug'): { log: Logger; text(): string; lines(): Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level, destination: stream });
  return {
    log,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
