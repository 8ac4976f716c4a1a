/**
 * The few parent commands the light workspace pages need, sent as the raw strings of the frame
 * protocol (docs/facts/bitrix24-frame.md#child-to-parent: `command:params:callbackId:appSid` to the portal's origin,
 * answers `callbackId:JSON` from it, docs/facts/bitrix24-frame.md#parent-reply, docs/facts/bitrix24-frame.md#parent-to-child), so these pages never load the ~75 kB SDK.
 * The portal origin and APP_SID come from `window.name` = `DOMAIN|PROTOCOL|APP_SID` (docs/facts/bitrix24-frame.md#window-name, docs/facts/bitrix24-frame.md#target-origin:
 * `:80`/`:443` stripped). Commands the portal may leave unanswered resolve `undefined` after a
 * timeout, as the SDK's `isSafely` does (docs/facts/bitrix24-frame.md#frame-timeouts); outside a portal every command is a no-op.
 */
export interface FrameTarget {
  origin: string;
  appSid: string;
}

export interface RefreshedAuth {
  AUTH_ID: string;
  AUTH_EXPIRES: number;
  REFRESH_ID?: string;
}

type FrameWindow = Pick<Window, 'name' | 'parent' | 'addEventListener'> & { document: Document };

/** Where commands go; null when the page is not inside a portal frame. */
export function frameTarget(win: Pick<Window, 'name' | 'parent'>): FrameTarget | null {
  if (!win.parent || win.parent === (win as unknown)) return null;
  const [domain = '', protocol = '', appSid = ''] = (win.name || '').split('|');
  const host = domain.replace(/:(80|443)$/, '');
  if (!host || !appSid) return null;
  return { origin: `${protocol === '1' ? 'https' : 'http'}://${host}`, appSid };
}

const randomId = (): string => Math.random().toString(36).slice(2) + Date.now().toString(36);

export function createFrameCommands(win: FrameWindow) {
  const target = frameTarget(win);
  const pending = new Map<string, (value: unknown) => void>();

  if (target) {
    win.addEventListener('message', (e: MessageEvent) => {
      if (e.origin !== target.origin || typeof e.data !== 'string') return;
      const at = e.data.indexOf(':');
      if (at < 0) return;
      const resolve = pending.get(e.data.slice(0, at));
      if (!resolve) return;
      const payload = e.data.slice(at + 1);
      try {
        resolve(payload === '' ? undefined : JSON.parse(payload));
      } catch {
        resolve(undefined);
      }
    });
  }

  /** Posts one command; resolves with the answer, or `undefined` when none came within `timeoutMs`. */
  function send(command: string, params?: object, timeoutMs = 900): Promise<unknown> {
    if (!target) return Promise.resolve(undefined);
    const id = randomId();
    const body = params === undefined ? '' : `${JSON.stringify(params)}:`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      pending.set(id, (value) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(value);
      });
      win.parent.postMessage(`${command}:${body}${id}:${target.appSid}`, target.origin);
    });
  }

  return {
    inPortal: target !== null,
    /** `resizeWindow`: the portal sizes the frame's container (denied in sliders: no answer). */
    resizeWindow: (width: number | '100%', height: number) => send('resizeWindow', { width, height }),
    /** The SDK's `fitWindow()`: full width, the document's height. */
    fitWindow: () => send('resizeWindow', { width: '100%', height: Math.max(win.document.documentElement.scrollHeight, 120) }),
    /** Opens the app's main page in a slider; the portal answers only when the slider closes. */
    openApplication: (params: Record<string, unknown> = {}) => void send('openApplication', params, 60 * 60_000),
    /** A fresh token for the viewing user (10 s, like the SDK's refreshAuth); null without an answer. */
    async refreshAuth(): Promise<RefreshedAuth | null> {
      const r = (await send('refreshAuth', undefined, 10_000)) as Partial<RefreshedAuth> | undefined;
      return r && typeof r.AUTH_ID === 'string' ? { AUTH_ID: r.AUTH_ID, AUTH_EXPIRES: Number(r.AUTH_EXPIRES) || 3600, REFRESH_ID: r.REFRESH_ID } : null;
    },
  };
}

export type FrameCommands = ReturnType<typeof createFrameCommands>;

let shared: FrameCommands | null = null;

/** The page's one instance (one message listener). */
export function frameCommands(): FrameCommands {
  shared ??= createFrameCommands(window);
  return shared;
}
