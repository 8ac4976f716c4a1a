import { describe, expect, it } from 'vitest';
import { json, SESSION, stubFetch } from '../support/scripted-fetch';
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import type { UisLinkRequest, UisLinkView } from '../../server/contracts/uis';
import { apiClientKey, createApiClient } from '../../app/api/api-client';
import { ApiRequestError } from '../../app/api/api-request';
import { getUisLink, linkUis, unlinkUis } from '../../app/api/uis';
import { useUisLinkStore } from '../../app/stores/uis-link-store';

/** app/api/uis.ts and useUisLinkStore against a stubbed fetch that fails loudly on unscripted calls. */
const PASSWORD = 'PASSWORD_SENTINEL';
const TOKEN = 'DATA_API_TOKEN_SENTINEL';

const unlinked: UisLinkView = {
  linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null,
};
const linked: UisLinkView = {
  linked: true,
  project: 'uis',
  login: 'admin@acme',
  accountId: '12345',
  accountName: 'ACME',
  linkedAt: '2025-03-04T05:06:07Z',
  webhookUrl: 'https://omni.example/uis/webhook/abc',
  lastError: null,
};
const request: UisLinkRequest = { project: 'uis', login: '  admin@acme ', password: PASSWORD, dataApiToken: ` ${TOKEN} ` };




describe('app/api/uis', () => {
  it('when the link is read, then it calls GET /api/uis/link with the Bearer session and parses the view', async () => {
    const { ctx, seen } = stubFetch(() => json(200, linked));
    await expect(getUisLink(ctx)).resolves.toEqual(linked);
    expect(seen).toEqual([{ method: 'GET', path: '/api/uis/link', auth: `Bearer ${SESSION}`, body: null }]);
  });

  it('when linking succeeds, then it POSTs the request trimmed by the contract schema and returns the linked view', async () => {
    const { ctx, seen } = stubFetch(() => json(200, linked));
    await expect(linkUis(ctx, request)).resolves.toEqual(linked);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/api/uis/link', auth: `Bearer ${SESSION}` });
    expect(seen[0]!.body).toEqual({ project: 'uis', login: 'admin@acme', password: PASSWORD, dataApiToken: TOKEN });
  });

  it('when the server answers 4xx {error, message}, then the error carries its code, message and status', async () => {
    const { ctx } = stubFetch(() => json(400, { error: 'UIS_AUTH_FAILED', message: 'UIS rejected the login or password' }));
    const error = await linkUis(ctx, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({ code: 'UIS_AUTH_FAILED', message: 'UIS rejected the login or password', status: 400 });
  });

  it('when the server refuses the body (VALIDATION_FAILED), then its message is passed on as is', async () => {
    const { ctx } = stubFetch(() => json(422, { error: 'VALIDATION_FAILED', message: 'dataApiToken: Enter the Data API key' }));
    await expect(linkUis(ctx, request)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'dataApiToken: Enter the Data API key', status: 422 });
  });

  it('when the request is invalid, then it fails with VALIDATION_FAILED naming the fields and never calls the server', async () => {
    const { ctx, seen } = stubFetch();
    const error = await linkUis(ctx, { project: 'uis', login: ' ', password: '', dataApiToken: 'short' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((error as Error).message).toContain('login');
    expect((error as Error).message).toContain('password');
    expect((error as Error).message).toContain('dataApiToken');
    expect(seen).toEqual([]);
  });

  it('when the answer does not match the view schema, then it fails with BAD_RESPONSE', async () => {
    const { ctx } = stubFetch(() => json(200, { linked: 'yes' }));
    await expect(getUisLink(ctx)).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
  });

  it('when the answer is not JSON (proxy error page), then it fails with the HTTP status', async () => {
    const { ctx } = stubFetch(() => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    await expect(unlinkUis(ctx)).rejects.toMatchObject({ code: 'HTTP_502', status: 502 });
  });

  it('when unlinking, then it calls DELETE /api/uis/link and returns the unlinked view', async () => {
    const { ctx, seen } = stubFetch(() => json(200, unlinked));
    await expect(unlinkUis(ctx)).resolves.toEqual(unlinked);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['DELETE /api/uis/link']);
  });
});

/** The store inside an app that provides the real client over the stubbed fetch (as pageContext does). */
function storeWith(...responses: (() => Response)[]) {
  const stub = stubFetch(...responses);
  const app = createApp({});
  const pinia = createPinia();
  app.use(pinia);
  app.provide(apiClientKey, createApiClient(stub.ctx));
  return { store: useUisLinkStore(pinia), seen: stub.seen };
}

describe('useUisLinkStore', () => {
  it('when loaded, then it holds the view and loading goes true → false', async () => {
    const { store } = storeWith(() => json(200, unlinked));
    const pending = store.load();
    expect(store.loading).toBe(true);
    await pending;
    expect(store).toMatchObject({ loading: false, view: unlinked, error: null });
  });

  it('when loading fails, then the error says which call failed', async () => {
    const { store } = storeWith(() => json(403, { error: 'NO_SESSION', message: 'session expired' }));
    await store.load();
    expect(store.error).toEqual({ code: 'NO_SESSION', message: 'session expired', action: 'load' });
    expect(store.view).toBeNull();
  });

  it('when linking succeeds, then it holds the linked view and no secret is left in the store', async () => {
    const { store } = storeWith(() => json(200, unlinked), () => json(200, linked));
    await store.load();
    const pending = store.link(request);
    expect(store.saving).toBe(true);
    await expect(pending).resolves.toBe(true);
    expect(store).toMatchObject({ saving: false, view: linked, error: null });
    expect(JSON.stringify(store.$state)).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
  });

  it('when the server refuses the link with a message, then the view stays unlinked and the message is kept', async () => {
    const { store } = storeWith(
      () => json(200, unlinked),
      () => json(400, { error: 'UIS_DATA_API_REFUSED', message: 'Data API: ip_not_whitelisted' }),
    );
    await store.load();
    await expect(store.link(request)).resolves.toBe(false);
    expect(store.view).toEqual(unlinked);
    expect(store.error).toEqual({ code: 'UIS_DATA_API_REFUSED', message: 'Data API: ip_not_whitelisted', action: 'link' });
    expect(store.saving).toBe(false);
    expect(JSON.stringify(store.$state)).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
  });

  it('when the form is invalid, then link() fails with VALIDATION_FAILED without a request', async () => {
    const { store, seen } = storeWith();
    await expect(store.link({ ...request, dataApiToken: '1234' })).resolves.toBe(false);
    expect(store.error).toMatchObject({ code: 'VALIDATION_FAILED', action: 'link' });
    expect(seen).toEqual([]);
  });

  it('when link() is called again while saving, then the second call is ignored', async () => {
    const { store, seen } = storeWith(() => json(200, linked));
    const first = store.link(request);
    await expect(store.link(request)).resolves.toBe(false);
    await expect(first).resolves.toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('when unlinked after an earlier error, then the error is cleared and the view is unlinked', async () => {
    const { store } = storeWith(
      () => json(200, linked),
      () => json(403, { error: 'NOT_ADMIN', message: 'Only a portal administrator can change the UIS account' }),
      () => json(200, unlinked),
    );
    await store.load();
    await expect(store.unlink()).resolves.toBe(false);
    expect(store.error).toMatchObject({ code: 'NOT_ADMIN', action: 'unlink' });
    expect(store.view).toEqual(linked);
    await expect(store.unlink()).resolves.toBe(true);
    expect(store).toMatchObject({ view: unlinked, error: null, saving: false });
  });
});
