/**
 * Text from clients goes through patterns on its way to Bitrix24 and UIS (issue #11 item 10): each
 * must stay linear in the text. 64k characters of `[url=` took ~2 s with the old patterns (the
 * square of the length); here 1 MB (the body limit) of each hostile shape would take many minutes
 * that way. The calls run in a worker stopped when one has not returned after 30 s, which tells
 * "never finishes" from the milliseconds a linear pass needs — no timing is asserted beyond that.
 */
import { describe, expect, it } from 'vitest';
import { runBounded } from '../support/bounded-run';

const MB = 1024 * 1024;
const fill = (unit: string, prefix = '', suffix = '') => prefix + unit.repeat(Math.ceil((MB - prefix.length - suffix.length) / unit.length)) + suffix;
const LIMIT_MS = 30_000;

describe('patterns over client text are linear (1 MB of the worst shape finishes)', () => {
  it('plainOperatorText / echoKey (operator text and echo keys): unclosed [url=, [url=a] without [/url], [b] without its end', async () => {
    const hostile = [fill('[url='), fill('[url=a]'), fill('[url=a]b[/ur'), fill('x', '[b]')];
    const r = await runBounded(
      new URL('../../server/services/bridge/identity.ts', import.meta.url),
      [...hostile.map((t): [string, unknown[]] => ['echoKey', [t]]), ['plainOperatorText', ['[b]Анна:[/b] [br]see [url=https://x.example/a]the page[/url] [i]now[/i]']]],
      LIMIT_MS,
    );
    expect(r).toMatchObject({ finished: true });
    // and it still does its job
    expect(r.finished && r.results.at(-1)).toBe('see the page (https://x.example/a) now');
  });

  it('the analytics transcript: BBCode stripped from the open-line history', async () => {
    const r = await runBounded(
      new URL('../../server/services/analytics/gather.ts', import.meta.url),
      [['stripBbCode', [fill('[a=')]], ['stripBbCode', [fill('[url=x')]], ['stripBbCode', [fill('[/b=')]], ['stripBbCode', ['[b]Hi[/b][br][url=https://x]there[/url]']]],
      LIMIT_MS,
    );
    expect(r).toMatchObject({ finished: true });
    expect(r.finished && r.results.at(-1)).toBe('Hi\nthere');
  });

  it('the UIS session marker in live-chat custom data', async () => {
    const r = await runBounded(
      new URL('../../server/domain/analytics.ts', import.meta.url),
      [
        ['extractUisSessionId', [[fill(' ', 'uis session:', 'x')]]],
        ['extractUisSessionId', [[fill(' [b]', 'uis session:', 'x')]]],
        ['extractUisSessionId', [[fill('uis session ')]]],
        ['extractUisSessionId', [['UIS session: [b] 12345[/b]']]],
      ],
      LIMIT_MS,
    );
    expect(r).toMatchObject({ finished: true });
    expect(r.finished && r.results.at(-1)).toBe(12345);
  });
});
