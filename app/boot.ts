import { inject, type InjectionKey } from 'vue';
import { bootSchema, type Boot, type PageName } from '../server/contracts/boot';

export type { Boot, PageName };

/** Id of the JSON block the server puts in place of `<!--omni-boot-->` in every page's <head>. */
export const BOOT_ELEMENT_ID = 'omni-boot';

export class BootError extends Error {
  constructor(
    readonly code: 'BOOT_MISSING' | 'BOOT_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'BootError';
  }
}

/**
 * Reads and validates `<script id="omni-boot" type="application/json">`.
 * @throws BootError when the block is absent (page not served by our server) or malformed.
 */
export function parseBoot(doc: Pick<Document, 'getElementById'>): Boot {
  const el = doc.getElementById(BOOT_ELEMENT_ID);
  if (!el) {
    throw new BootError(
      'BOOT_MISSING',
      `No <script id="${BOOT_ELEMENT_ID}"> in the page: it must be served by the UIS OMNI server, not opened as a static file.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(el.textContent ?? '');
  } catch (error) {
    throw new BootError('BOOT_INVALID', `The boot block is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = bootSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new BootError('BOOT_INVALID', `The boot block does not match the expected shape (${where}).`);
  }
  return parsed.data;
}

/**
 * Like parseBoot, but never throws: a broken boot becomes a Boot with `error` set, so every view
 * shows one kind of error screen. The language falls back to the browser's.
 */
export function loadBoot(doc: Pick<Document, 'getElementById'>, page: PageName, navigatorLang = 'ru'): Boot {
  try {
    return parseBoot(doc);
  } catch (error) {
    const e = error instanceof BootError ? error : new BootError('BOOT_INVALID', String(error));
    console.error(e);
    return {
      page,
      lang: navigatorLang.toLowerCase().startsWith('ru') ? 'ru' : 'en',
      session: null,
      memberId: null,
      placement: 'DEFAULT',
      placementOptions: {},
      isAdmin: false,
      error: { code: e.code, message: e.message },
    };
  }
}

export const bootKey: InjectionKey<Boot> = Symbol('omni-boot');

/** The page's boot block, provided by pageContext(). */
export function useBoot(): Boot {
  const boot = inject(bootKey, null);
  if (!boot) throw new Error('useBoot(): no boot provided (install pageContext(boot) on the app).');
  return boot;
}
