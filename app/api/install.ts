import { installProgressSchema, type InstallProgress } from '../../server/contracts/install';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';
import { readNdjson } from './read-ndjson';

/**
 * POST /api/install/run: the server runs the idempotent install plan and streams NDJSON progress —
 * one `plan`, then `step` updates, then exactly one `done`. Resolves with `done.ok`.
 * @throws ApiRequestError when the request fails, a line is malformed or the stream ends without `done`.
 */
export async function runInstall(ctx: ApiContext, onProgress: (event: InstallProgress) => void): Promise<boolean> {
  const res = await apiRequest(ctx, '/api/install/run', {
    method: 'POST',
    headers: { Accept: 'application/x-ndjson' },
  });
  if (!res.body) throw new ApiRequestError('NO_BODY', 'The install answer has no body.', res.status);
  const done: { ok: boolean | null } = { ok: null };
  try {
    await readNdjson(res.body, (line) => {
      const event = installProgressSchema.parse(line);
      if (event.type === 'done') done.ok = event.ok;
      onProgress(event);
    });
  } catch (error) {
    if (error instanceof ApiRequestError) throw error;
    throw new ApiRequestError('BAD_PROGRESS', `Install progress could not be read: ${(error as Error).message}`);
  }
  if (done.ok === null) throw new ApiRequestError('STREAM_ENDED', 'The connection closed before the installation finished.');
  return done.ok;
}
