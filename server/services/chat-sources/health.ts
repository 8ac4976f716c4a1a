import { DEFAULT_AMO_SETTINGS, DEFAULT_JIVO_SETTINGS, amoSettingsSchema, jivoSettingsSchema, type ChatSource, type SourceState } from '../../contracts/chat-sources';
import { fixFor } from '../../domain/chat-sources/errors';
import type { ChatSourceRepository } from './ports';

/** One source's health: switched on, connected, its last event, upload and error (with the fix). */
export interface SourceHealth extends SourceState {
  source: ChatSource;
  enabled: boolean;
  /** amoCRM: an account is connected and its grant works; Jivo: always true (nothing to connect) */
  connected: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The state the tab shows for a source (channels seen, marked mapped or not). */
export async function sourceState(sources: ChatSourceRepository, memberId: string, source: ChatSource, mapped: (key: string) => boolean): Promise<SourceState> {
  const [s, counts, channels] = await Promise.all([sources.state(memberId, source), sources.counts(memberId, source), sources.channels(memberId, source)]);
  return {
    lastEventAt: iso(s.lastEventAt),
    lastUploadAt: iso(s.lastUploadAt),
    lastError: s.lastError ? { at: new Date(s.lastError.at).toISOString(), code: s.lastError.code, message: s.lastError.message, fix: fixFor(s.lastError.code) } : null,
    counts,
    channels: channels.map((c) => ({ key: c.key, lastAt: new Date(c.lastAt).toISOString(), mapped: mapped(c.key) })),
  };
}

/**
 * Every chat source of a portal, for the coming health view: on/off, connected, last event, last
 * upload, last error with its fix, and how many conversations are pending, uploaded, skipped, failed.
 */
export async function chatSourceHealth(
  deps: { sources: ChatSourceRepository; amoAccounts: { get(memberId: string): Promise<{ status: 'active' | 'reauth' } | null> } },
  memberId: string,
): Promise<SourceHealth[]> {
  const [jivo, amo, conn] = await Promise.all([deps.sources.getSettings(memberId, 'jivo'), deps.sources.getSettings(memberId, 'amocrm'), deps.amoAccounts.get(memberId)]);
  const jivoSettings = jivo ? jivoSettingsSchema.safeParse(jivo.settings).data ?? DEFAULT_JIVO_SETTINGS : DEFAULT_JIVO_SETTINGS;
  const amoSettings = amo ? amoSettingsSchema.safeParse(amo.settings).data ?? DEFAULT_AMO_SETTINGS : DEFAULT_AMO_SETTINGS;
  return [
    { source: 'jivo', enabled: jivoSettings.enabled, connected: true, ...(await sourceState(deps.sources, memberId, 'jivo', (k) => Object.hasOwn(jivoSettings.messengers, k))) },
    { source: 'amocrm', enabled: amoSettings.enabled, connected: conn?.status === 'active', ...(await sourceState(deps.sources, memberId, 'amocrm', (k) => Object.hasOwn(amoSettings.messengers, k))) },
  ];
}
