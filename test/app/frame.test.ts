import { describe, expect, it, vi } from 'vitest';
import type { B24Frame } from '@bitrix24/b24jssdk';
import { createFrame } from '../../app/bitrix/frame';
import { normalizePlacementOptions } from '../../app/bitrix/placement-options';

/** Just enough of B24Frame for app/bitrix/frame.ts. */
function fakeFrame(over: { options?: unknown; installMode?: boolean } = {}) {
  const installFinish = vi.fn(() => new Promise(() => {})); // the portal never answers (docs/facts/bitrix24-frame.md#pitfall-9)
  const fitWindow = vi.fn(async () => ({}));
  const frame = {
    placement: { placement: 'DEFAULT', options: over.options ?? '' },
    getLang: () => 'ru',
    isInstallMode: over.installMode ?? true,
    installFinish,
    parent: { fitWindow },
  } as unknown as B24Frame;
  return { frame, installFinish, fitWindow };
}

const loader = (init: () => Promise<B24Frame>) => async () => ({ initializeB24Frame: init });

describe('createFrame', () => {
  it('when opened outside Bitrix24 (JSSDK_CLIENT_SIDE_WARNING), then the outcome is not-in-bitrix24', async () => {
    const warning = Object.assign(new Error('Well done!'), { code: 'JSSDK_CLIENT_SIDE_WARNING' });
    const f = createFrame({ loadSdk: loader(() => Promise.reject(warning)), timeoutMs: 1000 });
    await expect(f.initFrame()).resolves.toMatchObject({ kind: 'not-in-bitrix24' });
    await expect(f.installFinish()).resolves.toBe('no-frame');
  });

  it('when the parent never answers getInitData, then it times out instead of hanging', async () => {
    const f = createFrame({ loadSdk: loader(() => new Promise(() => {})), timeoutMs: 50 });
    await expect(f.initFrame()).resolves.toEqual({ kind: 'timeout', ms: 50 });
  });

  it('when ready, then PLACEMENT_OPTIONS "" becomes {} and init runs once', async () => {
    const { frame } = fakeFrame({ options: '' });
    const init = vi.fn(async () => frame);
    const f = createFrame({ loadSdk: loader(init), timeoutMs: 1000 });
    await f.initFrame();
    await expect(f.initFrame()).resolves.toMatchObject({ kind: 'ready', options: {}, lang: 'ru' });
    expect(init).toHaveBeenCalledTimes(1);
  });

  it('when install finishes, then setInstallFinish is sent and the call resolves without its answer', async () => {
    const { frame, installFinish } = fakeFrame();
    const f = createFrame({ loadSdk: loader(async () => frame), timeoutMs: 1000 });
    await expect(f.installFinish()).resolves.toBe('sent');
    expect(installFinish).toHaveBeenCalledTimes(1);
  });

  it('when the frame is not in install mode, then installFinish is not sent', async () => {
    const { frame, installFinish } = fakeFrame({ installMode: false });
    const f = createFrame({ loadSdk: loader(async () => frame), timeoutMs: 1000 });
    await expect(f.installFinish()).resolves.toBe('not-install-mode');
    expect(installFinish).not.toHaveBeenCalled();
  });
});

describe('normalizePlacementOptions', () => {
  it.each([
    ['', {}],
    ['   ', {}],
    ['{"ID":"42"}', { ID: '42' }],
    [{ ID: '8061' }, { ID: '8061' }],
    [null, {}],
    [[], {}],
  ])('normalises %j', (input, expected) => {
    expect(normalizePlacementOptions(input)).toEqual(expected);
  });
});
