import type { CrmChannel, CrmRulesSettings } from '../../contracts/crm-rules';

/**
 * How the Chats tab stands next to Open Lines. «ОЛ не могут работать одновременно с
 * активированными и настроенными чатами», except when «чаты и ОЛ включают специально, но все
 * настройки внутри раздела чатов остаются отключенными» (seed 001 «Настройка») — the
 * `workspace-only` mode: the workspace frame works, Open Lines create the entities.
 */
export type ChatsMode = 'off' | 'workspace-only' | 'rules';

export function chatsMode(s: Pick<CrmRulesSettings, 'enabled' | 'createEntities'>): ChatsMode {
  if (!s.enabled) return 'off';
  return s.createEntities ? 'rules' : 'workspace-only';
}

/**
 * Channels the rules would process although an open line drives them. The seed: a channel
 * connected to an open line «автоматически выключили … в списке» of chat channels; exactly one
 * creator per line (docs/facts/uis.md#rule-23). The settings page shows these and drops them.
 */
export function openLinesConflicts(s: Pick<CrmRulesSettings, 'enabled' | 'createEntities' | 'channels'>, drivenTypes: readonly string[]): CrmChannel[] {
  if (chatsMode(s) !== 'rules') return [];
  return s.channels.filter((c) => drivenTypes.includes(c));
}

/** The channel list with the open-line-driven channels switched off (what saving with Open Lines on stores). */
export function withoutOpenLineChannels(channels: readonly CrmChannel[], drivenTypes: readonly string[]): CrmChannel[] {
  return channels.filter((c) => !drivenTypes.includes(c));
}
