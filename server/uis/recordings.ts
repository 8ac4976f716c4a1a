/**
 * Call recordings (docs/facts/telephony.md#recordings): the links UIS gives («Записанный разговор» `file_link`,
 * get.calls_report `full_record_file_link`) are played by a plain GET, no token. A link may answer
 * 404 until the file is ready ("the record may arrive with a delay after the call"). We download
 * it ourselves and hand Bitrix24 the bytes: the links have no extension (Bitrix24 takes only
 * .mp3/.wav names) and the portal's own GET may fail or be slow.
 */
export type RecordingFetch =
  | { ok: true; bytes: Buffer; contentType: string | null }
  | { ok: false; retry: boolean; reason: string };

/** Bigger files are not attached (Bitrix24 would refuse them anyway; a call of hours). */
export const MAX_RECORDING_BYTES = 64 * 1024 * 1024;

/**
 * Whether a recording link may be fetched: the platform's own hosts (uiscom.ru, comagic.ru and their
 * subdomains) or a host the account's configured UIS endpoints use (another installation, the
 * emulator). A notification names the link, so anything else — an internal address — is refused.
 */
export function recordingHostAllowed(url: string, endpointHosts: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return ['uiscom.ru', 'comagic.ru'].some((d) => host === d || host.endsWith(`.${d}`)) || endpointHosts.includes(host);
}

export async function fetchRecording(url: string, o: { fetch?: typeof fetch; timeoutMs?: number; hosts?: readonly string[] } = {}): Promise<RecordingFetch> {
  let res: Response;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, retry: false, reason: 'not an http(s) link' };
    if (!recordingHostAllowed(url, o.hosts ?? [])) return { ok: false, retry: false, reason: `the recording link's host ${u.hostname} is not a UIS host` };
    res = await (o.fetch ?? fetch)(u, { redirect: 'follow', signal: AbortSignal.timeout(o.timeoutMs ?? 60_000) });
  } catch (e) {
    return { ok: false, retry: true, reason: `UIS recording unreachable: ${(e as Error).name}` };
  }
  if (res.status === 404 || res.status === 403 || res.status >= 500 || res.status === 429) {
    await res.arrayBuffer().catch(() => undefined);
    return { ok: false, retry: true, reason: `UIS answered ${res.status} for the recording (not ready yet?)` };
  }
  if (res.status !== 200) {
    await res.arrayBuffer().catch(() => undefined);
    return { ok: false, retry: false, reason: `UIS answered ${res.status} for the recording` };
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > MAX_RECORDING_BYTES) return { ok: false, retry: false, reason: `the recording is larger than ${MAX_RECORDING_BYTES} bytes` };
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length === 0) return { ok: false, retry: true, reason: 'the recording is empty (not ready yet?)' };
  if (bytes.length > MAX_RECORDING_BYTES) return { ok: false, retry: false, reason: `the recording is larger than ${MAX_RECORDING_BYTES} bytes` };
  return { ok: true, bytes, contentType: res.headers.get('content-type') };
}

/** `.wav` when the bytes are RIFF/WAVE, else `.mp3` (what UIS serves: docs/facts/telephony.md#recordings). */
export function recordingExtension(bytes: Buffer): 'wav' | 'mp3' {
  return bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WAVE' ? 'wav' : 'mp3';
}
