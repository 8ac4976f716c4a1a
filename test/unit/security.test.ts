import { describe, expect, it } from 'vitest';
import { verifyApplicationToken } from '../../server/bitrix/verify';
import { createSessionSigner } from '../../server/http/session';
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
    expect(createSessionSigner('o'.repeat(40), () => now).verify(t)).toBeNull();
  });
});
