import { afterEach, describe, expect, it } from 'vitest';
import { createAmoGateway, type AmoTokenStore } from '../../server/amocrm/client';
import { authorizeUrl, exchangeCode, type AmoOAuthConfig } from '../../server/amocrm/oauth';
import { systemClock } from '../../server/domain/clock';
import { createSqliteAmoAccountRepository } from '../../server/storage/amocrm-account-repository';
import { openDb, type Db } from '../../server/storage/db';
import { createSecretBox } from '../../server/storage/secret-box';
import { startAmoEmulator, type AmoEmulator } from '../emulator/amocrm';

/**
 * amoCRM's refresh token works once (a second use revokes the grant: amocrm-api-php#123, #475), so
 * two processes of the app sharing one database must not both spend it. Each "process" here is its
 * own gateway and repository over the same database, against the emulated amoCRM OAuth server.
 */
let amo: AmoEmulator | undefined;
let db: Db | undefined;
afterEach(async () => {
  await amo?.close();
  db?.close();
  amo = db = undefined;
});

const MEMBER = 'portal-1';

async function connected() {
  amo = await startAmoEmulator({ integration: { redirectUri: 'http://127.0.0.1:1/oauth/amocrm/callback' } });
  const cfg: AmoOAuthConfig = { clientId: amo.integration.clientId, clientSecret: amo.integration.clientSecret, redirectUri: amo.integration.redirectUri, trustedHosts: [amo.origin] };
  const back = new URL(await amo.authorize(authorizeUrl(cfg, amo.origin, 'state')));
  const tokens = await exchangeCode(cfg, amo.origin, back.searchParams.get('code')!, Date.now());
  db = openDb(':memory:');
  db.pragma('foreign_keys = OFF'); // no portal row: only the amoCRM account matters here
  const box = createSecretBox('k'.repeat(64));
  const repo = createSqliteAmoAccountRepository(db, box);
  const account = amo.accounts[0]!;
  await repo.connect({ memberId: MEMBER, name: 'Ромашка', origin: amo.origin, accountId: account.id, webhook: { mode: 'manual', disabled: false, detail: null }, connectedAt: Date.now() }, tokens, Date.now());
  // the access token is about to lapse: whoever calls next refreshes first
  db.prepare('UPDATE amocrm_accounts SET expires_at = ?').run(Date.now() + 60_000);
  return { cfg, box, repo };
}

const refreshGrants = () => amo!.oauth.log.filter((l) => l.grantType === 'refresh_token');

describe('amoCRM token refresh across processes', () => {
  it('when another process refreshes between our read of the pair and our lease, then we use its new pair instead of spending the old refresh token', async () => {
    const { cfg, box } = await connected();
    const a = createAmoGateway({ store: createSqliteAmoAccountRepository(db!, box), oauth: cfg, clock: systemClock });
    const repoB = createSqliteAmoAccountRepository(db!, box);
    // process B has read the pair (still the old one) and is about to take the lease when A's refresh runs and ends
    let aDone: Promise<unknown> | null = null;
    const storeB: AmoTokenStore = {
      ...repoB,
      leaseRefresh: async (memberId, until, now) => {
        aDone ??= a.client(MEMBER).get('/api/v4/account');
        await aDone;
        return repoB.leaseRefresh(memberId, until, now);
      },
    };
    const b = createAmoGateway({ store: storeB, oauth: cfg, clock: systemClock });
    const account = await b.client(MEMBER).get<{ id: number }>('/api/v4/account');
    expect(account?.id).toBe(amo!.accounts[0]!.id);
    expect(await aDone).toMatchObject({ id: amo!.accounts[0]!.id });
    expect(refreshGrants()).toHaveLength(1);
    expect(refreshGrants().every((l) => l.ok)).toBe(true);
    expect(await repoB.load(MEMBER)).toMatchObject({ status: 'active' });
    // and the grant still works for both afterwards
    expect(await a.client(MEMBER).get('/api/v4/account')).toMatchObject({ id: amo!.accounts[0]!.id });
  });

  it('when two processes need a fresh token at once, then one refresh happens and both go on with it', async () => {
    const { cfg, box } = await connected();
    const gateways = [0, 1].map(() => createAmoGateway({ store: createSqliteAmoAccountRepository(db!, box), oauth: cfg, clock: systemClock }));
    const answers = await Promise.all(gateways.flatMap((g) => [0, 1, 2].map(() => g.client(MEMBER).get<{ id: number }>('/api/v4/account'))));
    expect(answers.map((x) => x?.id)).toEqual(Array(6).fill(amo!.accounts[0]!.id));
    expect(refreshGrants()).toHaveLength(1);
    expect(refreshGrants()[0]!.ok).toBe(true);
  });
});
