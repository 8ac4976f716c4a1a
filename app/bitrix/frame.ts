/**
 * The only module touching @bitrix24/b24jssdk (style.md §2). The SDK is loaded with a dynamic
 * import so a page paints before its ~75 kB gzip arrive, and the small placement pages stay light.
 * SDK quirks handled here (docs/facts/bitrix24-frame.md#frame-pitfalls):
 * - getInitData has no timeout (docs/facts/bitrix24-frame.md#pitfall-1): we race init against our own timer;
 * - outside a portal init rejects with JSSDK_CLIENT_SIDE_WARNING (docs/facts/bitrix24-frame.md#pitfall-2): typed outcome;
 * - setInstallFinish never answers, the portal reloads (docs/facts/bitrix24-frame.md#pitfall-9): fire-and-forget;
 * - PLACEMENT_OPTIONS may be "" (docs/facts/bitrix24-frame.md#pitfall-8, b24jssdk#485): normalised to {}.
 */
import type { B24Frame } from '@bitrix24/b24jssdk';
import { normalizePlacementOptions } from './placement-options';

export type FrameOutcome =
  | {
      kind: 'ready';
      placement: string;
      options: Record<string, unknown>;
      lang: string;
      isInstallMode: boolean;
    }
  | { kind: 'not-in-bitrix24'; message: string }
  | { kind: 'timeout'; ms: number }
  | { kind: 'failed'; code: string; message: string };

export type InstallFinishResult = 'sent' | 'not-install-mode' | 'no-frame';

export interface FrameDeps {
  loadSdk: () => Promise<{ initializeB24Frame: () => Promise<B24Frame> }>;
  timeoutMs: number;
}

const NOT_IN_PORTAL = 'JSSDK_CLIENT_SIDE_WARNING';

function toOutcome(frame: B24Frame): FrameOutcome {
  return {
    kind: 'ready',
    placement: frame.placement.placement,
    options: normalizePlacementOptions(frame.placement.options),
    lang: frame.getLang(),
    isInstallMode: frame.isInstallMode,
  };
}

function toFailure(error: unknown): FrameOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === NOT_IN_PORTAL) return { kind: 'not-in-bitrix24', message };
  return { kind: 'failed', code: typeof code === 'string' ? code : 'FRAME_INIT_FAILED', message };
}

/** The page content's height: the body's box and margins (not the viewport, which is the frame's current size). */
export function contentHeight(doc: Document = document): number {
  const body = doc.body;
  const view = doc.defaultView;
  const style = view ? view.getComputedStyle(body) : null;
  const margins = style ? parseFloat(style.marginTop) + parseFloat(style.marginBottom) : 0;
  return Math.max(1, Math.ceil(body.getBoundingClientRect().height + (Number.isFinite(margins) ? margins : 0)));
}

/** Frame access with injectable SDK loader and timeout (tests); the app uses the default instance below. */
export function createFrame(deps: FrameDeps) {
  let frame: B24Frame | null = null;
  let pending: Promise<FrameOutcome> | null = null;

  async function start(): Promise<FrameOutcome> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<FrameOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout', ms: deps.timeoutMs }), deps.timeoutMs);
    });
    const init = deps
      .loadSdk()
      .then((sdk) => sdk.initializeB24Frame())
      .then((f) => {
        frame = f;
        return toOutcome(f);
      }, toFailure);
    const outcome = await Promise.race([init, timeout]);
    clearTimeout(timer);
    // Only a definite answer is cached; a timeout or failure may be retried by the next caller.
    if (outcome.kind === 'timeout' || outcome.kind === 'failed') pending = null;
    return outcome;
  }

  /** Initialises the frame once per page (the SDK itself caches one frame forever, docs/facts/bitrix24-frame.md#frame-entry). */
  function initFrame(): Promise<FrameOutcome> {
    pending ??= start();
    return pending;
  }

  /**
   * Tells the portal the installation is complete. Resolves as soon as the command is posted:
   * the portal never answers, it reloads the page. Call it last, and do not await it in the UI.
   */
  async function installFinish(): Promise<InstallFinishResult> {
    const outcome = await initFrame();
    if (outcome.kind !== 'ready' || !frame) return 'no-frame';
    if (!outcome.isInstallMode) return 'not-install-mode';
    frame.installFinish().catch((error: unknown) => console.warn('installFinish rejected', error));
    return 'sent';
  }

  /**
   * Fits the iframe height to the content; a no-op outside the portal or where the command is denied.
   * The SDK's own fitWindow sends the document's scrollHeight, which never falls below the frame's
   * current height: a short tab after a long one would keep the frame tall (~2,000 px of blank).
   * So the height sent is the body's own, as `resizeWindow` with the full width (what fitWindow sends).
   */
  async function fitWindow(): Promise<void> {
    const outcome = await initFrame();
    if (outcome.kind !== 'ready' || !frame) return;
    await frame.parent.message
      .send('resizeWindow', { width: '100%', height: contentHeight(), isSafely: true })
      .catch((error: unknown) => console.warn('fitWindow failed', error));
  }

  return { initFrame, installFinish, fitWindow };
}

// Destructuring inside then() lets Rollup tree-shake the SDK's other exports out of the lazy chunk.
const defaultFrame = createFrame({
  loadSdk: () => import('@bitrix24/b24jssdk').then(({ initializeB24Frame }) => ({ initializeB24Frame })),
  timeoutMs: 10_000,
});

export const initFrame = defaultFrame.initFrame;
export const installFinish = defaultFrame.installFinish;
export const fitWindow = defaultFrame.fitWindow;
export { normalizePlacementOptions };
