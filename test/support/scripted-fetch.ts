/** The page session every app API test hands to the client (compared in the Authorization header). */
export const SESSION = 'session-sentinel';

/** A JSON answer as our API gives it. */
export const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** What the app sent: method, path, the Authorization header and the parsed JSON body. */
export interface Seen {
  method: string;
  path: string;
  auth: string | null;
  body: unknown;
}

/** A fetch that answers each call with the next scripted response; an unscripted call throws. `ctx` is what the app's API clients take. */
export function stubFetch(...responses: (() => Response)[]) {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const req = new Request(new URL(String(input), 'http://app.test'), init);
    const text = await req.text();
    seen.push({ method: req.method, path: new URL(req.url).pathname, auth: req.headers.get('authorization'), body: text ? JSON.parse(text) : null });
    const next = responses.shift();
    if (!next) throw new Error(`unscripted fetch: ${req.method} ${req.url}`);
    return next();
  };
  return { fetch, seen, ctx: { session: SESSION, fetch } };
}
