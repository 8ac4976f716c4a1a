/**
 * REST error bodies as the portal builds them (rest/lib/restexception.php `output()`:
 * `{error, error_description, ...additional}`; default status 400) — docs/facts/bitrix24.md#rest-envelope, docs/facts/bitrix24.md#rest-errors.
 */
import type { Params } from './php';

export class RestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Params = {},
  ) {
    super(message);
  }

  body(): Params {
    return { error: this.code, error_description: this.message, ...this.extra };
  }
}

/** Rest\Exceptions\ArgumentNullException: the parameter name is echoed in `argument`. */
export const argumentNull = (parameter: string): RestError =>
  new RestError('ERROR_ARGUMENT', `Argument '${parameter}' is null or empty`, 400, { argument: parameter });

export const argumentError = (message: string, parameter: string): RestError =>
  new RestError('ERROR_ARGUMENT', message, 400, { argument: parameter });

export const argumentType = (parameter: string, type: string): RestError =>
  new RestError('ERROR_ARGUMENT', `The value of an argument '${parameter}' must be of type ${type}`, 400, {
    argument: parameter,
  });

/** Rest\AccessException: "Access denied!" plus an optional reason, HTTP 403. */
export const accessDenied = (reason = ''): RestError =>
  new RestError('ACCESS_DENIED', `Access denied!${reason === '' ? '' : ` ${reason}`}`, 403);

export const methodNotFound = (): RestError => new RestError('ERROR_METHOD_NOT_FOUND', 'Method not found!', 404);

/** Auth failures all go through one OAuthException that defaults to 401 (docs/facts/bitrix24.md#rest-errors). */
export const noAuth = (): RestError => new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);
export const invalidToken = (): RestError =>
  new RestError('invalid_token', 'The access token provided is invalid.', 401);
export const expiredToken = (): RestError =>
  new RestError('expired_token', 'The access token provided has expired.', 401);
export const insufficientScope = (description: string): RestError =>
  new RestError('insufficient_scope', description, 401);

/** docs/facts/bitrix24.md#rest-limits: the leaky bucket overflowed. */
export const queryLimit = (): RestError => new RestError('QUERY_LIMIT_EXCEEDED', 'Too many requests', 503);

/** docs/facts/bitrix24.md#rest-limits: the method's execution time over the last 10 minutes is over the limit (CRestServer::processCall). */
export const operationTimeLimit = (): RestError =>
  new RestError('OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.', 429);

/** Rest\HandlerHelper::checkCallback — a handler must be http(s) with a dotted host (docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#event-delivery). */
export function checkHandlerUrl(url: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  const host = parsed?.hostname ?? '';
  if (!parsed || host === '' || !(host.indexOf('.') > 0)) {
    throw new RestError('ERROR_WRONG_HANDLER_URL', 'Wrong handler URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RestError('ERROR_UNSUPPORTED_PROTOCOL', 'Unsupported handler protocol');
  }
}
