import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Logger + the single redact() used for log records and error serialisation (style.md rule 15).
 * A portal token grants full access to that portal, so no credential may reach a log line.
 */
export type { Logger };

const SECRET_KEY = /(token|secret|password|^auth$|^auth_id$|^refresh_id$|authorization|cookie|signature|session)/i;
const REDACTED = '[redacted]';

/** Deep copy of `value` with every secret-looking key's value replaced. Cycles are cut. */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  if (value instanceof Error) {
    return { type: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redact(v, seen);
  }
  return out;
}

export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: undefined,
      formatters: { log: (obj) => redact(obj) as Record<string, unknown> },
      serializers: { err: (e: unknown) => redact(e) },
    },
    opts.destination ?? pino.destination(1),
  );
}
