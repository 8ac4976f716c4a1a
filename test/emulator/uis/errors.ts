/**
 * A platform rule refused an action (closed chat, WABA window, unknown operator …). The runtime
 * API answers it as FastAPI would an HTTPException: `status` + `{"detail": message}`; the pages
 * show the message. The docs name no such errors; the wording is ours.
 */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
