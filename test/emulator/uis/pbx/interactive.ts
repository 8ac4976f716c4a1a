/**
 * «Интерактивная обработка вызова» (comagic.github.io interactive_call_processing/index.html): a
 * scenario operation requests the external system's URL (GET with a query string, or POST) with the
 * chosen parameters (`cdr_id, start_time, input_result, numa, numb`; CRM integrations add
 * `call_session_id`) and expects HTTP 200 with JSON:
 *   - redirect `{"phones":[…], "message_name"|"text", "operator_message"}` → those numbers ring;
 *   - branch `{"returned_code": <code>}` → the operation linked to that code.
 * Anything else — another status, no JSON, an empty or unusable answer, a timeout — takes the
 * operation's linked "no answer" branch, as the docs strongly recommend configuring.
 *
 * Harsher where the docs are silent: `phones` must be a list of number strings, digits only, as
 * every documented example is (`"74959876543"`); one entry of another kind (a JSON number, `+7…`,
 * spaces, an empty string) makes the whole answer unusable → the linked operation, not a partial
 * redirect. The timeout covers the whole answer, body included.
 *
 * Chosen where the docs are silent: the timeout is real time (default 3 s per operation);
 * `start_time` is unix seconds; `input_result` is `None` when the caller entered nothing (the
 * docs' example URL); POST sends a form body unless the operation says JSON. Every request and
 * what the scenario did next is kept in `pbx.interactiveLog`.
 */
import type { Pbx } from './pbx';
import type { CallSession, InteractiveConfig } from './types';

export interface InteractiveLogEntry {
  sessionId: number;
  operationId: number;
  at: number;
  method: 'GET' | 'POST';
  url: string;
  /** the parameters sent */
  params: Record<string, string>;
  /** raw body sent (POST) */
  body: string | null;
  status: number | 'timeout' | 'network-error' | 'not-configured';
  /** the answer text (first 4 kB) */
  responseText: string;
  /** the parsed instruction, when there was one */
  answer: { phones?: unknown[]; returned_code?: unknown; message_name?: unknown; text?: unknown; operator_message?: unknown } | null;
  outcome: 'redirect' | 'branch' | 'message' | 'no-answer';
  /** the operation the scenario continued with (null = none / the redirect rang) */
  nextOperationId: number | null;
  elapsedMs: number;
}

type Op = { id: number; name: string; kind: 'interactive' } & InteractiveConfig;

export async function runInteractive(pbx: Pbx, s: CallSession, op: Op): Promise<InteractiveLogEntry> {
  const contactLeg = s.legs.find((l) => l.party === 'contact');
  const all: Record<string, string> = {
    cdr_id: String(contactLeg?.id ?? s.id),
    start_time: String(Math.floor(s.startedAt / 1000)),
    input_result: s.dtmf && s.dtmf !== '' ? s.dtmf : 'None',
    numa: s.contactNumber,
    numb: s.virtualNumber ?? '',
    call_session_id: String(s.id),
  };
  const params: Record<string, string> = {};
  for (const k of op.params) params[k] = all[k] ?? '';
  const entry: InteractiveLogEntry = {
    sessionId: s.id,
    operationId: op.id,
    at: pbx.now(),
    method: op.method,
    url: op.url,
    params,
    body: null,
    status: 'not-configured',
    responseText: '',
    answer: null,
    outcome: 'no-answer',
    nextOperationId: op.onNoAnswer,
    elapsedMs: 0,
  };
  pbx.interactiveLog.push(entry);
  if (op.url === '') return entry;

  const query = new URLSearchParams(params).toString();
  let url = op.url;
  let body: string | undefined;
  const headers: Record<string, string> = { 'user-agent': 'UIS-VATS/1.0' };
  if (op.method === 'GET') url += (url.includes('?') ? '&' : '?') + query;
  else if (op.postEncoding === 'json') {
    body = JSON.stringify(params);
    headers['content-type'] = 'application/json';
  } else {
    body = query;
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  entry.url = url;
  entry.body = body ?? null;
  const started = Date.now();
  try {
    const res = await fetch(url, { method: op.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(op.timeoutMs) });
    const text = await res.text();
    entry.status = res.status;
    entry.responseText = text.slice(0, 4096);
    if (res.status === 200) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const a = parsed as NonNullable<InteractiveLogEntry['answer']>;
        entry.answer = a;
        if (a.phones !== undefined && !validPhones(a.phones)) {
          entry.outcome = 'no-answer';
        } else if (Array.isArray(a.phones) && a.phones.length > 0) {
          entry.outcome = 'redirect';
          entry.nextOperationId = null;
        } else if (a.returned_code !== undefined && a.returned_code !== null) {
          const next = op.returnedCodes[String(a.returned_code)];
          entry.outcome = next !== undefined ? 'branch' : 'no-answer';
          entry.nextOperationId = next !== undefined ? next : op.onNoAnswer;
        } else if (typeof a.text === 'string' || typeof a.message_name === 'string') {
          entry.outcome = 'message';
          entry.nextOperationId = op.next;
        }
      }
    }
  } catch (e) {
    entry.status = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError') ? 'timeout' : 'network-error';
  }
  entry.elapsedMs = Date.now() - started;
  return entry;
}

/** The documented shape of `phones`: number strings of digits (every example in the docs). */
function validPhones(v: unknown): boolean {
  return Array.isArray(v) && v.every((p) => typeof p === 'string' && /^\d{3,15}$/.test(p));
}
