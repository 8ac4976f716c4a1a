/**
 * The open-line chat of a new UIS client is titled by the client's name when UIS gives one
 * (issue #16 item 6): UIS sends the name in «Карточка посетителя» (/visitor/card) beside /chat
 * and the first /message, in no set order; a chat created under the phone is renamed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { linkAndBind } from '../support/bridge-fixture';
import { startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await h.uis.accounts[0]!.settle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
  }
}

const olChat = async (uisChatId: number) => {
  const c = await h.app.deps.bridge.chat(h.portal.memberId, String(uisChatId));
  return c?.b24ChatId ? h.portal.openLines.chat(Number(c.b24ChatId)) : undefined;
};

describe('the open-line chat of a new client', () => {
  it('is titled by the name UIS gives, not by the phone, whichever callback comes first', async () => {
    h = await startHarness();
    const { acc } = await linkAndBind(h);
    const named = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567', name: 'Мария Иванова' }, text: 'Здравствуйте' });
    const unnamed = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79169876543' }, text: 'Добрый день' });
    await settle();
    expect((await olChat(named.chatId))?.title).toContain('Мария Иванова');
    expect((await olChat(named.chatId))?.title).not.toContain('79161234567');
    // without a name the phone is all there is
    expect((await olChat(unnamed.chatId))?.title).toContain('79169876543');

    // a name given later (the client filled in the card in the operator workspace) renames the chat too
    await acc.visitorCard(unnamed.chatId, { name: 'Пётр Сидоров' });
    await settle();
    expect((await olChat(unnamed.chatId))?.title).toContain('Пётр Сидоров');
    // the messages stay where they were: one chat per client
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(2);
  });
});
