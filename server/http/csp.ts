/**
 * Content-Security-Policy of our pages. Pages may be framed by the portal they were verified
 * for and nothing else (frame-ancestors); the frame SDK talks to that portal's REST directly,
 * so it is also the one extra connect-src (docs/facts/bitrix24-frame.md#frame-pitfalls pitfalls 5, 6).
 */
export function pageCsp(portalOrigin: string | null, dev = false, frameSrc: string[] = []): string {
  const portal = portalOrigin ? ` ${portalOrigin}` : '';
  const frames = frameSrc.map((o) => ` ${o}`).join('');
  const directives = [
    "default-src 'self'",
    `script-src 'self'${dev ? " 'unsafe-inline' 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "font-src 'self' data:",
    `connect-src 'self'${portal}${dev ? ' ws: wss:' : ''}`,
    `frame-src 'self' https:${frames}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${portalOrigin ?? "'none'"}`,
  ];
  return directives.join('; ');
}

/** http(s)://<domain> of a portal, from its verified client endpoint's scheme. */
export function portalOrigin(p: { clientEndpoint: string; domain: string }): string {
  return `${new URL(p.clientEndpoint).protocol}//${p.domain}`;
}
