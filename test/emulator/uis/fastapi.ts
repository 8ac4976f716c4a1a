/**
 * Error shapes of the Chat API services. The docs give no error bodies, but the services show
 * their stack: the runtime login is an OAuth2 password form (`username`/`password`, form-encoded)
 * answering `{"access_token", "token_type": "bearer", "expires_at"}`, and the entity tables use
 * Python types (`Optional[str]`, `dict[str, Any]`) — FastAPI with pydantic. So the emulator answers
 * the FastAPI way: `{"detail": "..."}` for HTTP errors, 422 `{"detail": [{type, loc, msg, input, ctx?}]}`
 * (pydantic v2 wording) for schema errors, lax coercion of numeric strings to int, unknown body
 * fields ignored. This is an inference, not documented behaviour.
 */
import type express from 'express';

export interface PydanticError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
  }
}

export class ValidationFailed extends Error {
  constructor(readonly errors: PydanticError[]) {
    super('validation failed');
  }
}

export function sendError(res: express.Response, err: unknown): void {
  if (err instanceof ValidationFailed) {
    res.status(422).json({ detail: err.errors });
    return;
  }
  if (err instanceof HttpError) {
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    res.status(err.status).json({ detail: err.detail });
    return;
  }
  res.status(500).type('text/plain').send('Internal Server Error');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function quoteList(values: readonly string[]): string {
  const q = values.map((v) => `'${v}'`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

interface Opt {
  /** absent/null allowed */
  optional?: boolean;
}

/** Reads one request model; collects every error like pydantic does, then `done()` throws them. */
export class Model {
  readonly errors: PydanticError[] = [];

  constructor(
    readonly raw: Record<string, unknown>,
    readonly loc: Array<string | number> = ['body'],
  ) {}

  static of(input: unknown, loc: Array<string | number> = ['body']): Model {
    if (!isRecord(input)) {
      throw new ValidationFailed([{ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input }]);
    }
    return new Model(input, loc);
  }

  private present(key: string, o: Opt): boolean {
    const v = this.raw[key];
    if (v === undefined || (v === null && o.optional)) {
      if (!o.optional) this.errors.push({ type: 'missing', loc: [...this.loc, key], msg: 'Field required', input: this.raw });
      return false;
    }
    return true;
  }

  fail(key: string | Array<string | number>, type: string, msg: string, input: unknown, ctx?: Record<string, unknown>): void {
    const loc = Array.isArray(key) ? [...this.loc, ...key] : [...this.loc, key];
    this.errors.push({ type, loc, msg, input, ...(ctx ? { ctx } : {}) });
  }

  int(key: string, o: Opt = {}): number | undefined {
    if (!this.present(key, o)) return undefined;
    return this.coerceInt(key, this.raw[key]);
  }

  coerceInt(key: string | Array<string | number>, v: unknown): number | undefined {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'number' && Number.isFinite(v)) {
      this.fail(key, 'int_from_float', 'Input should be a valid integer, got a number with a fractional part', v);
      return undefined;
    }
    if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v.trim());
    if (typeof v === 'string') {
      this.fail(key, 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer', v);
      return undefined;
    }
    this.fail(key, 'int_type', 'Input should be a valid integer', v);
    return undefined;
  }

  str(key: string, o: Opt & { pattern?: RegExp; minLength?: number } = {}): string | undefined {
    if (!this.present(key, o)) return undefined;
    const v = this.raw[key];
    if (typeof v !== 'string') {
      this.fail(key, 'string_type', 'Input should be a valid string', v);
      return undefined;
    }
    if (o.minLength !== undefined && v.length < o.minLength) {
      this.fail(key, 'string_too_short', `String should have at least ${o.minLength} character${o.minLength === 1 ? '' : 's'}`, v, { min_length: o.minLength });
      return undefined;
    }
    if (o.pattern && !o.pattern.test(v)) {
      const p = o.pattern.source;
      this.fail(key, 'string_pattern_mismatch', `String should match pattern '${p}'`, v, { pattern: p });
      return undefined;
    }
    return v;
  }

  bool(key: string, o: Opt = {}): boolean | undefined {
    if (!this.present(key, o)) return undefined;
    const v = this.raw[key];
    if (typeof v === 'boolean') return v;
    this.fail(key, 'bool_type', 'Input should be a valid boolean', v);
    return undefined;
  }

  enumOf<T extends string>(key: string, values: readonly T[], o: Opt = {}): T | undefined {
    if (!this.present(key, o)) return undefined;
    return this.checkEnum(key, this.raw[key], values);
  }

  checkEnum<T extends string>(key: string | Array<string | number>, v: unknown, values: readonly T[]): T | undefined {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    const expected = quoteList(values);
    this.fail(key, 'enum', `Input should be ${expected}`, v, { expected });
    return undefined;
  }

  enumList<T extends string>(key: string, values: readonly T[], o: Opt & { minLength?: number } = {}): T[] | undefined {
    if (!this.present(key, o)) return undefined;
    const v = this.raw[key];
    if (!Array.isArray(v)) {
      this.fail(key, 'list_type', 'Input should be a valid list', v);
      return undefined;
    }
    if (o.minLength !== undefined && v.length < o.minLength) {
      this.fail(key, 'too_short', `List should have at least ${o.minLength} item after validation, not ${v.length}`, v, { field_type: 'List', min_length: o.minLength, actual_length: v.length });
      return undefined;
    }
    const out: T[] = [];
    v.forEach((item, i) => {
      const e = this.checkEnum([key, i], item, values);
      if (e !== undefined) out.push(e);
    });
    return out.length === v.length ? [...new Set(out)] : undefined;
  }

  intList(key: string, o: Opt = {}): number[] | undefined {
    if (!this.present(key, o)) return undefined;
    const v = this.raw[key];
    if (!Array.isArray(v)) {
      this.fail(key, 'list_type', 'Input should be a valid list', v);
      return undefined;
    }
    const out: number[] = [];
    v.forEach((item, i) => {
      const n = this.coerceInt([key, i], item);
      if (n !== undefined) out.push(n);
    });
    return out.length === v.length ? out : undefined;
  }

  dict(key: string, o: Opt = {}): Record<string, unknown> | undefined {
    if (!this.present(key, o)) return undefined;
    const v = this.raw[key];
    if (!isRecord(v)) {
      this.fail(key, 'dict_type', 'Input should be a valid dictionary', v);
      return undefined;
    }
    return v;
  }

  url(key: string, o: Opt = {}): string | undefined {
    const v = this.str(key, o);
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      this.fail(key, 'url_parsing', 'Input should be a valid URL, relative URL without a base', v, { error: 'relative URL without a base' });
      return undefined;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      this.fail(key, 'url_scheme', "URL scheme should be 'http' or 'https'", v, { expected_schemes: "'http' or 'https'" });
      return undefined;
    }
    return v;
  }

  /** Throws the collected errors, if any. */
  done(): void {
    if (this.errors.length) throw new ValidationFailed(this.errors);
  }
}

/** Parses a JSON body the way FastAPI reports a broken one. */
export function jsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new ValidationFailed([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const pos = Number(/position (\d+)/.exec(String(e))?.[1] ?? 0);
    throw new ValidationFailed([{ type: 'json_invalid', loc: ['body', pos], msg: 'JSON decode error', input: {}, ctx: { error: 'Expecting value' } }]);
  }
}

/** `Authorization: Bearer <token>` (OAuth2PasswordBearer): missing → 401 "Not authenticated". */
export function bearer(req: express.Request): string {
  const h = String(req.headers.authorization ?? '');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw new HttpError(401, 'Not authenticated', { 'WWW-Authenticate': 'Bearer' });
  return m[1]!;
}
