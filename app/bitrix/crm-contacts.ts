/**
 * Reads a CRM card's client contact data straight from the portal with the *viewing user's*
 * token, so Bitrix24 applies that user's CRM rights and a card they may not see is refused
 * honestly. This is what b24jssdk does (docs/facts/bitrix24-frame.md#frame-rest-request: `POST https://DOMAIN/rest/<method>`,
 * JSON body with `auth`), without loading the SDK: the token is the AUTH_ID the portal posted to
 * the page, which our server verified and put in the boot block (`portalAuth`). An expired token
 * is renewed once through the parent's `refreshAuth` (docs/facts/bitrix24-frame.md#frame-auth-refresh).
 * Legacy CRM errors carry an empty code and "Access denied." / "… is not found" (docs/facts/bitrix24.md#crm-lead).
 */
export type CrmEntityType = 'LEAD' | 'DEAL' | 'CONTACT';

export interface PortalAuth {
  accessToken: string;
  restUrl: string;
}

export interface ClientContacts {
  name: string | null;
  phones: string[];
  emails: string[];
}

export type CrmReadOutcome =
  | { kind: 'ok'; client: ClientContacts }
  | { kind: 'denied' }
  | { kind: 'not-found' }
  | { kind: 'failed'; message: string };

export interface CrmReadDeps {
  fetch?: typeof fetch;
  /** A new token for the same user, or null (the parent's refreshAuth). */
  refresh?: () => Promise<string | null>;
}

type Row = Record<string, unknown>;

class RestFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The card's client: its own phones and e-mails (a lead, a contact) or, for a deal, its contacts'. */
export async function readClientContacts(auth: PortalAuth, type: CrmEntityType, id: string, deps: CrmReadDeps = {}): Promise<CrmReadOutcome> {
  const call = restCaller(auth, deps);
  try {
    if (type === 'DEAL') return { kind: 'ok', client: await dealClient(call, id) };
    const row = await call<Row>(type === 'LEAD' ? 'crm.lead.get' : 'crm.contact.get', { id });
    let client = fromEntity(row);
    if (type === 'LEAD' && !client.phones.length && !client.emails.length && Number(row.CONTACT_ID) > 0) {
      client = await call<Row>('crm.contact.get', { id: row.CONTACT_ID }).then(fromEntity, () => client);
    }
    return { kind: 'ok', client };
  } catch (e) {
    return outcomeOf(e);
  }
}

async function dealClient(call: RestCall, id: string): Promise<ClientContacts> {
  const items = await call<Row[]>('crm.deal.contact.items.get', { id });
  const ids = (Array.isArray(items) ? items : []).sort((a, b) => (a.IS_PRIMARY === 'Y' ? -1 : b.IS_PRIMARY === 'Y' ? 1 : 0)).map((i) => String(i.CONTACT_ID));
  const contacts = await Promise.allSettled(ids.map((cid) => call<Row>('crm.contact.get', { id: cid })));
  const readable = contacts.flatMap((r) => (r.status === 'fulfilled' ? [fromEntity(r.value)] : []));
  // The deal is visible but none of its contacts: that is a rights refusal too, say so.
  if (ids.length > 0 && readable.length === 0) throw (contacts[0] as PromiseRejectedResult).reason;
  return {
    name: readable[0]?.name ?? null,
    phones: [...new Set(readable.flatMap((c) => c.phones))],
    emails: [...new Set(readable.flatMap((c) => c.emails))],
  };
}

function fromEntity(row: Row): ClientContacts {
  const values = (v: unknown) =>
    (Array.isArray(v) ? (v as Row[]) : []).map((x) => (typeof x?.VALUE === 'string' ? x.VALUE.trim() : '')).filter((x) => x !== '');
  const person = [row.NAME, row.LAST_NAME].filter((x) => typeof x === 'string' && x.trim()).join(' ');
  const name = person || (typeof row.TITLE === 'string' && row.TITLE.trim() ? row.TITLE.trim() : null);
  return { name, phones: values(row.PHONE), emails: values(row.EMAIL) };
}

function outcomeOf(e: unknown): CrmReadOutcome {
  if (e instanceof RestFailure) {
    if (e.code === 'ACCESS_DENIED' || /access denied/i.test(e.message)) return { kind: 'denied' };
    if (e.code === 'NOT_FOUND' || /not found/i.test(e.message)) return { kind: 'not-found' };
    return { kind: 'failed', message: `${e.code || `HTTP ${e.status}`}: ${e.message}` };
  }
  return { kind: 'failed', message: e instanceof Error ? e.message : String(e) };
}

type RestCall = <T>(method: string, params: Row) => Promise<T>;

function restCaller(auth: PortalAuth, deps: CrmReadDeps): RestCall {
  let token = auth.accessToken;
  let refreshing: Promise<string | null> | null = null;
  const base = auth.restUrl.replace(/\/+$/, '');
  const once = async <T>(method: string, params: Row): Promise<T> => {
    const res = await (deps.fetch ?? fetch)(`${base}/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ ...params, auth: token }),
    });
    const json = (await res.json().catch(() => null)) as Row | null;
    if (!res.ok || !json || typeof json.error === 'string') {
      throw new RestFailure(String(json?.error ?? ''), String(json?.error_description ?? res.statusText), res.status);
    }
    return json.result as T;
  };
  return async <T>(method: string, params: Row): Promise<T> => {
    try {
      return await once<T>(method, params);
    } catch (e) {
      const expired = e instanceof RestFailure && (e.code === 'expired_token' || e.code === 'invalid_token');
      if (!expired || !deps.refresh) throw e;
      refreshing ??= deps.refresh();
      const fresh = await refreshing;
      if (!fresh) throw e;
      token = fresh;
      return once<T>(method, params);
    }
  };
}
