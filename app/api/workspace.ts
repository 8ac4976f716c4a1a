import {
  lookupRequestSchema,
  lookupResultSchema,
  startChatRequestSchema,
  startChatResultSchema,
  workspaceViewSchema,
  type LookupRequest,
  type LookupResult,
  type StartChatRequest,
  type StartChatResult,
  type WorkspaceView,
} from '../../server/contracts/workspace';
import type { z } from 'zod';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

async function read<S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.infer<S>> {
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', `The server sent an unexpected ${what}.`, res.status);
  return parsed.data;
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

/** GET /api/workspace: whether the UIS operator workspace can be shown, and its URL. */
export async function getWorkspace(ctx: ApiContext): Promise<WorkspaceView> {
  return read(await apiRequest(ctx, '/api/workspace', { headers: { Accept: 'application/json' } }), workspaceViewSchema, 'workspace description');
}

/** POST /api/workspace/lookup: the client's UIS chats and the channels a new chat could use. */
export async function lookupChats(ctx: ApiContext, request: LookupRequest): Promise<LookupResult> {
  const body = lookupRequestSchema.parse(request);
  return read(await apiRequest(ctx, '/api/workspace/lookup', json(body)), lookupResultSchema, 'chat lookup');
}

/**
 * POST /api/workspace/chats: starts an outbound chat as the caller's UIS employee.
 * @throws ApiRequestError with the server's code: OPERATOR_NOT_FOUND, WABA_TEMPLATE_REQUIRED, …
 */
export async function startChat(ctx: ApiContext, request: StartChatRequest): Promise<StartChatResult> {
  const body = startChatRequestSchema.safeParse(request);
  if (!body.success) throw new ApiRequestError('VALIDATION_FAILED', body.error.issues.map((i) => i.message).join('; '));
  return read(await apiRequest(ctx, '/api/workspace/chats', json(body.data)), startChatResultSchema, 'chat start answer');
}

/** The workspace calls bound to one page's session (the store gets it with `connect`). */
export interface WorkspaceApi {
  getWorkspace(): Promise<WorkspaceView>;
  lookupChats(request: LookupRequest): Promise<LookupResult>;
  startChat(request: StartChatRequest): Promise<StartChatResult>;
}

export function createWorkspaceApi(ctx: ApiContext): WorkspaceApi {
  return {
    getWorkspace: () => getWorkspace(ctx),
    lookupChats: (request) => lookupChats(ctx, request),
    startChat: (request) => startChat(ctx, request),
  };
}
