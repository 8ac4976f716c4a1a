/**
 * One coded error type for everything the app decides to refuse (style.md rule 14).
 * `operational` errors are expected (bad input, forged requests); others are bugs.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    readonly operational = true,
    /** The request field at fault and the remote side's own reason (a UIS mnemonic…), when known: pages put their words on that field. */
    readonly details: { field?: string; reason?: string } = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new AppError(code, message, 400);
export const unauthorized = (code: string, message: string) => new AppError(code, message, 401);
export const forbidden = (code: string, message: string) => new AppError(code, message, 403);
export const notFound = (code: string, message: string) => new AppError(code, message, 404);
