import { UisApiError } from './errors';

/** One JSON request to a UIS service with a timeout; non-2xx answers become UisApiError. */
export async function uisJson<T>(
  service: UisApiError['service'],
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; form?: Record<string, string>; fetch?: typeof fetch; timeoutMs?: number },
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  let body: BodyInit | undefined;
  if (init.form) {
    body = new URLSearchParams(init.form);
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json; charset=UTF-8';
  }
  let res: Response;
  try {
    res = await (init.fetch ?? fetch)(url, { method: init.method ?? 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(init.timeoutMs ?? 20_000) });
  } catch (e) {
    throw new UisApiError('NETWORK_ERROR', e instanceof Error ? e.message : String(e), 0, service);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const o = (json ?? {}) as { code?: unknown; error?: unknown; message?: unknown; detail?: unknown; mnemonic?: unknown };
    const code = String(o.mnemonic ?? o.code ?? (typeof o.error === 'string' ? o.error : '') ?? '') || `HTTP_${res.status}`;
    throw new UisApiError(code, String(o.message ?? o.detail ?? ''), res.status, service);
  }
  return json as T;
}
