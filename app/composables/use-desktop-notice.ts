import { ref } from 'vue';

/** Remembered per browser profile once dismissed. */
const KEY = 'uis-omni:desktop-notice-dismissed';

/**
 * The Bitrix24 desktop app (user agent `BitrixDesktop`) frames the workspace with no guarantee it
 * works (seeds, «Работа с фреймом РМО внутри Б24»): say so once. The dismissal is kept in
 * `localStorage`, which a third-party frame may not be allowed to touch (blocked storage throws a
 * SecurityError) — then it lasts for this page only.
 */
export function useDesktopNotice(userAgent: string = navigator.userAgent, storage: () => Storage = () => window.localStorage) {
  const isDesktop = /BitrixDesktop/i.test(userAgent);
  let dismissed = false;
  try {
    dismissed = storage().getItem(KEY) === '1';
  } catch {
    dismissed = false;
  }
  const visible = ref(isDesktop && !dismissed);
  function dismiss(): void {
    visible.value = false;
    try {
      storage().setItem(KEY, '1');
    } catch {
      // storage refused in this third-party frame: the notice stays dismissed for this page only
    }
  }
  return { isDesktop, visible, dismiss };
}
