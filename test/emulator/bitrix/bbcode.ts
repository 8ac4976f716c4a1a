/**
 * BBCode as Bitrix24 shows it to people (im `Bitrix\Im\Text::parse` + the chat UI; CRM timeline
 * comments, to-do descriptions and `COMMENTS` fields go through the same CTextParser tags). Text
 * is HTML-escaped first (HTML in a message is never markup), then the tags a chat renders become
 * elements: [b] [i] [u] [s], [url] / [url=…] links, [USER=id] mentions, [CHAT=id] links,
 * [SEND=…] / [PUT=…] buttons that post or prefill a message, [CALL=…] phone links, [color],
 * [size], [quote], [code], [ICON=…], [DISK=…], [TIMESTAMP=…], [br] and new lines. There is no
 * escape: a `[` that starts a known tag is markup, whoever wrote it.
 *
 * The operator screen (/online/operator/) and the CRM card show this; tests read the same HTML
 * (`portal.openLines…messages[].html`, `renderBbcode`) to see what an operator would see.
 */
const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Links Bitrix24 makes clickable; anything else (javascript:, data:) stays text. */
const SAFE_URL = /^(https?:\/\/|mailto:|tel:|\/)/i;
const link = (url: string, body: string, whole: string): string =>
  SAFE_URL.test(url) ? `<a class="bb-url" href="${url}" target="_blank" rel="noopener">${body || url}</a>` : whole;

type Rule = [RegExp, (whole: string, ...groups: string[]) => string];

const PAIRED: Rule[] = [
  [/\[(b|i|u|s)\]([\s\S]*?)\[\/\1\]/gi, (_w, t, x) => `<${t!.toLowerCase()}>${x}</${t!.toLowerCase()}>`],
  [/\[url\]([^[]*?)\[\/url\]/gi, (w, u) => link(u!, u!, w)],
  [/\[url=([^\][]+)\]([\s\S]*?)\[\/url\]/gi, (w, u, x) => link(u!, x!, w)],
  [/\[user=(\d+)(?: replace)?\]([\s\S]*?)\[\/user\]/gi, (_w, id, x) => `<span class="bb-mention" data-user-id="${id}">${x || `#${id}`}</span>`],
  [/\[chat=(\d+)\]([\s\S]*?)\[\/chat\]/gi, (_w, id, x) => `<a class="bb-chat" href="/online/?IM_DIALOG=chat${id}">${x}</a>`],
  [/\[(send|put)(?:=([^\][]+))?\]([\s\S]*?)\[\/\1\]/gi, (_w, k, cmd, x) => `<button type="button" class="bb-${k!.toLowerCase()}" data-command="${cmd ?? x}">${x}</button>`],
  [/\[call(?:=([^\][]+))?\]([\s\S]*?)\[\/call\]/gi, (_w, n, x) => `<a class="bb-call" href="tel:${n ?? x}">${x}</a>`],
  [/\[color=(#[0-9a-f]{3}|#[0-9a-f]{6})\]([\s\S]*?)\[\/color\]/gi, (_w, c, x) => `<span style="color:${c}">${x}</span>`],
  [/\[size=(\d{1,2})\]([\s\S]*?)\[\/size\]/gi, (_w, n, x) => `<span style="font-size:${n}px">${x}</span>`],
  [/\[quote\]([\s\S]*?)\[\/quote\]/gi, (_w, x) => `<blockquote>${x}</blockquote>`],
  [/\[spoiler\]([\s\S]*?)\[\/spoiler\]/gi, (_w, x) => `<details>${x}</details>`],
];

const SINGLE: Rule[] = [
  [/\[icon=([^\][]*)\]/gi, (_w, v) => `<span class="bb-icon" data-icon="${v}"></span>`],
  [/\[disk=(\d+)\]/gi, (_w, id) => `<span class="bb-file" data-file-id="${id}">файл</span>`],
  [/\[attach=(\d+)\]/gi, (_w, id) => `<span class="bb-attach" data-attach-id="${id}"></span>`],
  [/\[timestamp=(\d+)[^\][]*\]/gi, (_w, ts) => `<time data-ts="${ts}">${new Date(Number(ts) * 1000).toISOString().slice(0, 16).replace('T', ' ')}</time>`],
  [/\[br\]/gi, () => '<br>'],
];

export function renderBbcode(text: string): string {
  // [CODE] first: its content is shown as written (Text::parse sets it aside before the parser)
  const codes: string[] = [];
  let h = esc(text).replace(/\[code\]([\s\S]*?)\[\/code\]/gi, (_w, x: string) => {
    codes.push(`<pre class="bb-code">${x}</pre>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  // nested tags: inner pairs first, a few rounds
  for (let round = 0; round < 6; round++) {
    const before = h;
    for (const [re, to] of PAIRED) h = h.replace(re, to as (substring: string, ...args: string[]) => string);
    if (h === before) break;
  }
  for (const [re, to] of SINGLE) h = h.replace(re, to as (substring: string, ...args: string[]) => string);
  h = h.replace(/\r?\n/g, '<br>');
  // eslint-disable-next-line no-control-regex
  return h.replace(/\u0000(\d+)\u0000/g, (_w, i: string) => codes[Number(i)]!);
}

/** What the HTML shows as text (tags dropped, entities decoded): for tests. */
export function visibleText(html: string): string {
  return html
    .replace(/<br>/g, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_w, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

/** The elements in rendered HTML other than line breaks: empty means the text showed as text. */
export function markupIn(html: string): string[] {
  return [...html.matchAll(/<([a-z]+)\b[^>]*>/gi)].map((m) => m[0]).filter((t) => t !== '<br>');
}
