/**
 * im.dialog.messages.get (docs/facts/bitrix24.md#openlines-chats; im/lib/chat.php getMessages with JSON=Y):
 * `DIALOG_ID` = `chat<id>`, `LAST_ID` (older than), `FIRST_ID` (newer than), `LIMIT` (default 20,
 * at most 50). The caller must be a participant of the chat — for an open-line chat that means
 * an operator who accepted it (the client user is one too). Newest first unless FIRST_ID is given.
 * Message keys are lower-case, params keep their upper-case names (CONNECTOR_MID, ATTACH, …).
 */
import { RestError } from '../errors';
import { phpInt, phpString, upperKeys, type Params } from '../php';
import { imFiles, imMessage, imUsers } from '../openlines/wire';
import type { MethodDef, RestCtx } from './registry';

function dialogMessagesGet(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  const dialogId = phpString(p.DIALOG_ID);
  if (dialogId === '') throw new RestError('DIALOG_ID_EMPTY', 'Dialog ID can\'t be empty');
  const m = /^chat(\d+)$/.exec(dialogId);
  const chat = m ? ctx.portal.ol.chats.get(Number(m[1])) : undefined;
  if (!chat || !chat.participants.has(ctx.user.id)) {
    throw new RestError('ACCESS_ERROR', 'You do not have access to the specified dialog');
  }
  const limit = Math.min(Math.max(phpInt(p.LIMIT) || 20, 1), 50);
  let list = ctx.portal.ol.chatMessages(chat).filter((x) => !x.hidden);
  if (p.FIRST_ID !== undefined) {
    const first = phpInt(p.FIRST_ID);
    list = list.filter((x) => x.id > first).slice(0, limit);
  } else {
    const last = phpInt(p.LAST_ID);
    if (last > 0) list = list.filter((x) => x.id < last);
    list = list.slice(-limit).reverse();
  }
  return {
    chat_id: chat.id,
    messages: list.map(imMessage),
    users: imUsers(ctx.portal, list.map((x) => x.authorId)),
    files: imFiles(ctx.portal, chat, list),
  };
}

export const imMethods: Record<string, MethodDef> = {
  'im.dialog.messages.get': { scope: 'im', handler: dialogMessagesGet },
};
