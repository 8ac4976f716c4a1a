/**
 * The site script for «сквозная аналитика», installed after the UIS tracking code on pages with
 * the Bitrix24 live-chat widget. It waits for both the widget (`onBitrixLiveChat`) and the UIS
 * tracker (`Comagic.getSessionId`) and hands the visitor's UIS session id to the widget as custom
 * data, so it travels with the chat into Bitrix24 (docs/facts/uis.md#site-js-api, docs/facts/uis.md#attribution). Versioned: when the
 * generated code changes, bump SCRIPT_VERSION.
 */
export const SCRIPT_VERSION = '1.0.0';

export function analyticsSiteScript(): string {
  return `<!-- UIS OMNI: сквозная аналитика для Открытых линий Битрикс24, v${SCRIPT_VERSION}. Вставьте после кода UIS. -->
<script>
(function () {
  var widget = null, sent = null, tries = 0;
  function sessionId() {
    try { return window.Comagic && typeof Comagic.getSessionId === 'function' ? Comagic.getSessionId() : null; } catch (e) { return null; }
  }
  function push() {
    var sid = sessionId();
    if (!widget || !sid || String(sid) === sent) return !!sent;
    widget.setCustomData([{ GRID: [{ NAME: 'uis_session_id', VALUE: String(sid), DISPLAY: 'LINE' }] }]);
    sent = String(sid);
    return true;
  }
  function wait() { if (!push() && ++tries < 120) setTimeout(wait, 500); }
  window.addEventListener('onBitrixLiveChat', function (event) {
    widget = event && event.detail && event.detail.widget;
    wait();
  });
})();
</script>`;
}
