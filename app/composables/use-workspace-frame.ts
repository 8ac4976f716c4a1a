import { onBeforeUnmount, onMounted, watch, type Ref } from 'vue';
import { frameCommands } from '../bitrix/frame-commands';
import type { WorkspacePhase } from '../stores/workspace-store';

/** How long the workspace frame may take to load before the page calls it unreachable. */
export const WORKSPACE_FRAME_TIMEOUT_MS = 15_000;

/** Tests (and `npm run bench`) may shorten it before the page loads. */
export function frameTimeoutMs(): number {
  const v = (globalThis as { __omniFrameTimeoutMs?: unknown }).__omniFrameTimeoutMs;
  return typeof v === 'number' && v > 0 ? v : WORKSPACE_FRAME_TIMEOUT_MS;
}

/**
 * A height for the portal's frame container that fills an ordinary screen: the frame cannot see
 * the portal's viewport, so the screen's height minus the portal chrome is the best measure.
 */
export function workspaceHeight(screenHeight = window.screen?.availHeight || 900): number {
  return Math.max(560, Math.min(1600, screenHeight - 140));
}

/**
 * Sizes the portal's frame (docs/facts/bitrix24-frame.md#frame-commands `resizeWindow`): full width and `workspaceHeight()`
 * while the workspace shows, the content's height (`fitWindow`) for messages and forms; again
 * whenever the portal window is resized.
 */
export function useWorkspaceFrameSize(phase: Ref<WorkspacePhase>) {
  const frame = frameCommands();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const apply = () => {
    if (phase.value.kind === 'workspace') void frame.resizeWindow('100%', workspaceHeight());
    else requestAnimationFrame(() => void frame.fitWindow());
  };
  const onResize = () => {
    clearTimeout(pending);
    pending = setTimeout(apply, 150);
  };
  watch(() => phase.value.kind, apply);
  onMounted(() => {
    apply();
    window.addEventListener('resize', onResize);
  });
  onBeforeUnmount(() => {
    clearTimeout(pending);
    window.removeEventListener('resize', onResize);
  });
  return { refit: apply };
}
