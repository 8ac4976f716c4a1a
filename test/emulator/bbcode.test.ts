/**
 * The emulated portal shows BBCode as Bitrix24 does (im Text::parse / the chat UI, CRM timeline):
 * what the product sends is what an operator sees, so a test can tell markup from text.
 */
import { describe, expect, it } from 'vitest';
import { markupIn, renderBbcode, visibleText } from './bitrix/bbcode';

describe('emulated Bitrix24 BBCode view', () => {
  it('renders the tags a chat renders: bold, links, mentions, command buttons, calls, quotes', () => {
    const html = renderBbcode('[B]важно[/B] [URL=https://x.example/pay]оплатить[/URL] [USER=1]Админ[/USER] [SEND=/stop]Стоп[/SEND] [CALL=+79161234567]позвонить[/CALL] [QUOTE]цитата[/QUOTE][br]ещё');
    expect(html).toContain('<b>важно</b>');
    expect(html).toContain('<a class="bb-url" href="https://x.example/pay" target="_blank" rel="noopener">оплатить</a>');
    expect(html).toContain('<span class="bb-mention" data-user-id="1">Админ</span>');
    expect(html).toContain('<button type="button" class="bb-send" data-command="/stop">Стоп</button>');
    expect(html).toContain('<a class="bb-call" href="tel:+79161234567">позвонить</a>');
    expect(html).toContain('<blockquote>цитата</blockquote>');
    expect(visibleText(html)).toBe('важно оплатить Админ Стоп позвонить цитата\nещё');
  });

  it('nested tags, [USER=id][/USER] without a name, [code] shown as written', () => {
    expect(renderBbcode('[b][i]x[/i][/b]')).toBe('<b><i>x</i></b>');
    expect(markupIn(renderBbcode('[USER=7][/USER]'))).toEqual(['<span class="bb-mention" data-user-id="7">']);
    expect(renderBbcode('[code][b]x[/b][/code]')).toBe('<pre class="bb-code">[b]x[/b]</pre>');
  });

  it('HTML is never markup; a javascript: link is not a link; unknown or unclosed tags stay text', () => {
    const html = renderBbcode('<img src=x onerror=alert(1)> [URL=javascript:alert(1)]x[/URL] [foo]bar[/foo] [b]open');
    expect(markupIn(html)).toEqual([]);
    expect(visibleText(html)).toBe('<img src=x onerror=alert(1)> [URL=javascript:alert(1)]x[/URL] [foo]bar[/foo] [b]open');
  });

  it('fullwidth brackets open no tag', () => {
    const html = renderBbcode('［URL=https://x.example］x［/URL］ ［B］y［/B］');
    expect(markupIn(html)).toEqual([]);
  });
});
