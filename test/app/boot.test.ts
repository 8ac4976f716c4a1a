import { describe, expect, it, vi } from 'vitest';
import { BootError, loadBoot, parseBoot } from '../../app/boot';
import type { Boot } from '../../server/contracts/boot';

const valid: Boot = {
  page: 'crm-tab',
  lang: 'en',
  session: 'S1',
  memberId: 'm1',
  placement: 'CRM_DEAL_DETAIL_TAB',
  placementOptions: { ID: '' },
  isAdmin: false,
  error: null,
};

/** A document stand-in holding at most one element, the boot block. */
function docWith(text: string | null): Pick<Document, 'getElementById'> {
  return {
    getElementById: (id: string) => (id === 'omni-boot' && text !== null ? ({ textContent: text } as HTMLElement) : null),
  };
}

describe('parseBoot', () => {
  it('when the block is valid, then it returns the boot as sent', () => {
    expect(parseBoot(docWith(JSON.stringify(valid)))).toEqual(valid);
  });

  it('when the block is missing, then it throws BOOT_MISSING naming the element', () => {
    expect(() => parseBoot(docWith(null))).toThrow(BootError);
    expect(() => parseBoot(docWith(null))).toThrow(/omni-boot/);
  });

  it('when the block is not JSON, then it throws BOOT_INVALID', () => {
    expect(() => parseBoot(docWith('{oops'))).toThrow(expect.objectContaining({ code: 'BOOT_INVALID' }));
  });

  it('when a field is wrong, then the error names the field', () => {
    expect(() => parseBoot(docWith(JSON.stringify({ ...valid, lang: 'de' })))).toThrow(/lang/);
  });
});

describe('loadBoot', () => {
  it('when the block is missing, then it returns a boot carrying the error in the browser language', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const boot = loadBoot(docWith(null), 'install', 'en-US');
    expect(boot).toMatchObject({ page: 'install', lang: 'en', session: null, error: { code: 'BOOT_MISSING' } });
  });
});
