/**
 * One canonical id format for everything the bridge sends to Bitrix24 (docs/facts/uis.md#identity rules
 * 1–2): `user.id` is per UIS visitor, `chat.id` per UIS chat, never equal, never re-prefixed
 * elsewhere. Keep these the only place ids are formatted (storage derives a chat's id with them).
 */
export const externalUserId = (visitorId: string): string => `uis_v${visitorId}`;
export const externalChatId = (uisChatId: string): string => `uis_c${uisChatId}`;
export function uisChatIdOf(externalChat: string): string | null {
  const m = /^uis_c(\d+)$/.exec(externalChat);
  return m ? m[1]! : null;
}
