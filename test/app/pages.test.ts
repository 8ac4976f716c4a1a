import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HANDLER_PATHS } from '../../install/plan';
import { BOOT_PLACEHOLDER, PAGES, pageForPath } from '../../placements/pages';

describe('placements/pages', () => {
  it('when compared with the install plan, then every page route is a registered handler path', () => {
    expect(PAGES.install.route).toBe(HANDLER_PATHS.install);
    expect(PAGES.app.route).toBe(HANDLER_PATHS.app);
    expect(PAGES['left-menu'].route).toBe(HANDLER_PATHS.leftMenu);
    expect(PAGES['crm-tab'].route).toBe(HANDLER_PATHS.crmTab);
    expect(PAGES.connector.route).toBe(HANDLER_PATHS.connector);
  });

  it('when a page HTML is read, then the boot placeholder sits inside <head> before any script', () => {
    for (const page of Object.values(PAGES)) {
      const html = readFileSync(new URL(`../../${page.html}`, import.meta.url), 'utf8');
      const head = html.slice(html.indexOf('<head>'), html.indexOf('</head>'));
      expect(head, page.html).toContain(BOOT_PLACEHOLDER);
      expect(html.indexOf(BOOT_PLACEHOLDER), page.html).toBeLessThan(html.indexOf('<script'));
    }
  });

  it('when a request path is matched, then query strings and one trailing slash are ignored', () => {
    expect(pageForPath('/b24/install?DOMAIN=x&PROTOCOL=1')).toBe('install');
    expect(pageForPath('/b24/placements/crm-tab/')).toBe('crm-tab');
    expect(pageForPath('/b24/events')).toBeUndefined();
  });
});
