import { describe, expect, it } from 'vitest';
import { verifyApplicationToken } from '../../server/bitrix/verify';
import { createSessionSigner } from '../../server/http/session';
import { createFileSigner } from '../../server/services/bridge/file-links';
import { redact } from '../../server/logging';
import { createSecretBox } from '../../server/storage/secret-box';
import { captureLogs } from '../support/log-capture';

describe('verifyApplicationToken', () => {
  it('when the tokens match, then it accepts', () => {
    expect(verifyApplicationToken('51856fefc120afa4b628cc82d3935cce', '51856fefc120afa4b628cc82d3935cce')).toBe(true);
  });
  it('when a token differs, is a prefix, is empty or is missing, then it refuses', () => {
    expect(verifyApplicationToken('abc', 'abd')).toBe(false);
    expect(verifyApplicationToken('abcdef', 'abc')).toBe(false);
    expect(verifyApplicationToken('abc', '')).toBe(false);
    expect(verifyApplicationToken(null, 'abc')).toBe(false);
    expect(verifyApplicationToken('', '')).toBe(false);
  });
});

describe('redact', () => {
  it('when a record holds credentials at any depth, then their values are replaced', () => {
    const out = redact({
      memberId: 'm1',
      auth: { access_token: 'A' },
      nested: [{ refresh_token: 'R', AUTH_ID: 'X', REFRESH_ID: 'Y', application_token: 'T', client_secret: 'S', keep: 'ok' }],
      headers: { authorization: 'Bearer Z' },
    });
    const text = JSON.stringify(out);
    for (const secret of ['"A"', '"R"', '"X"', '"Y"', '"T"', '"S"', 'Bearer Z']) expect(text).not.toContain(secret);
    expect(text).toContain('"keep":"ok"');
    expect(text).toContain('"memberId":"m1"');
  });

  it('when the logger is given secrets, then none reach the output', () => {
    const cap = captureLogs();
    cap.log.info({ access_token: 'SENTINEL_ACCESS', body: { REFRESH_ID: 'SENTINEL_REFRESH' } }, 'hello');
    cap.log.error({ err: Object.assign(new Error('boom'), { refresh_token: 'SENTINEL_ERR' }) }, 'failed');
    expect(cap.text()).toContain('hello');
    expect(cap.text()).not.toMatch(/SENTINEL_/);
  });
});

describe('secret box (tokens at rest)', () => {
  const box = createSecretBox('k'.repeat(40));
  it('when a value is sealed, then it opens only with the same key and the same portal', () => {
    const sealed = box.seal('refresh-token-value', 'member-1');
    expect(sealed).not.toContain('refresh-token-value');
    expect(box.open(sealed, 'member-1')).toBe('refresh-token-value');
    expect(() => box.open(sealed, 'member-2')).toThrow();
    expect(() => createSecretBox('x'.repeat(40)).open(sealed, 'member-1')).toThrow();
  });
  it('when the same value is sealed twice, then the ciphertexts differ', () => {
    expect(box.seal('v', 'm')).not.toBe(box.seal('v', 'm'));
  });
});

describe('page session signer', () => {
  let now = 1_000_000;
  const signer = createSessionSigner('s'.repeat(40), () => now, 60_000);
  it('when a session is issued, then it verifies to the same claims until it expires', () => {
    const t = signer.issue({ memberId: 'm', userId: 7, isAdmin: true });
    expect(signer.verify(t)).toEqual({ memberId: 'm', userId: 7, isAdmin: true });
    now += 60_001;
    expect(signer.verify(t)).toBeNull();
  });
  it('when the payload or signature is tampered with, then it is refused', () => {
    const t = signer.issue({ memberId: 'm', userId: 7, isAdmin: false });
    const [payload, sig] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ m: 'm', u: 7, a: true, exp: now + 1000 })).toString('base64url');
    expect(signer.verify(`${forged}.${sig}`)).toBeNull();
    expect(signer.verify(`${payload}.${sig!.slice(0, -2)}xx`)).toBeNull();
    expect(signer.verify('garbage')).toBeNull();
    // exactly two segments: a valid token with anything appended is not a session
    for (const extra of ['.', '.x', `.${sig}`, `.${t}`]) expect(signer.verify(`${t}${extra}`)).toBeNull();
    expect(createSessionSigner('o'.repeat(40), () => now).verify(t)).toBeNull();
  });
});

describe('signed file links (bridge)', () => {
  const now = 1_700_000_000_000;
  const signer = createFileSigner({ secret: 'k'.repeat(40), appUrl: 'https://app.example', now: () => now });
  const parts = (url: string) => {
    const u = new URL(url);
    const [memberId, channelId, resourceId, token, name] = u.pathname.split('/').slice(3).map(decodeURIComponent) as [string, string, string, string, string];
    return { path: { memberId, channelId, resourceId, token, name }, exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
  };
  it('when a link is signed, then exactly its fields verify', () => {
    const ref = { memberId: 'm1', channelId: '7', resourceId: '42', token: 'tok', name: 'photo.jpg' };
    const l = parts(signer.url(ref));
    expect(signer.verify(l.path, l.exp, l.sig)).toEqual(ref);
    expect(signer.verify({ ...l.path, resourceId: '43' }, l.exp, l.sig)).toBeNull();
  });
  it('when fields are re-cut at a separator (a|b + c vs a + b|c), then the signature does not carry over', () => {
    // a client names its file; the name (and the UIS token) may hold any character
    const l = parts(signer.url({ memberId: 'm1', channelId: '7', resourceId: '42', token: 'tok|x', name: 'a.jpg' }));
    expect(signer.verify({ memberId: 'm1', channelId: '7', resourceId: '42', token: 'tok', name: 'x|a.jpg' }, l.exp, l.sig)).toBeNull();
    const m = parts(signer.url({ memberId: 'm1', channelId: '7', resourceId: '42', token: 'tok', name: `a.jpg|${Math.floor(now / 1000) + 99_999_999}` }));
    // the name's tail cannot stand in for a later expiry
    expect(signer.verify({ ...m.path, name: 'a.jpg' }, String(Math.floor(now / 1000) + 99_999_999), m.sig)).toBeNull();
  });
});
