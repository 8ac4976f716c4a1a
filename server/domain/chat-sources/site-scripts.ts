import type { SessionField } from './amocrm';

/**
 * The site scripts of the chat sources, installed on every page after the UIS tracking code. Each
 * waits for both the UIS tracker (`Comagic.getSessionId()`, docs/facts/uis.md#site-js-api) and the chat widget —
 * in whichever order they arrive — then hands the visitor's UIS session to the widget, so that it
 * comes back with the conversation. Only numbers from the settings are written into the code.
 * Versioned: when the generated code changes, bump the version.
 */
export const JIVO_SCRIPT_VERSION = '1.0.0';
export const AMO_SCRIPT_VERSION = '1.0.0';

const SESSION_ID = `function sessionId() {
    try { return window.Comagic && typeof Comagic.getSessionId === 'function' ? Comagic.getSessionId() : null; } catch (e) { return null; }
  }`;

/**
 * Jivo (docs/facts/chat-sources.md#jivo-site-script; jivo.ru/docs/widget): `jivo_api.setUserToken(id)` — Jivo passes the
 * token in every webhook as `user_token`. `jivo_api` is usable only once the widget has loaded,
 * which it announces with `jivo_onLoadCallback`: the script chains the site's own callback and also
 * polls (a callback declared by a later script would replace ours).
 */
export function jivoSiteScript(): string {
  return `<!-- UIS OMNI: сквозная аналитика для Jivo, v${JIVO_SCRIPT_VERSION}. Вставьте на каждую страницу после кода UIS. -->
<script>
(function () {
  var sent = null, tries = 0;
  ${SESSION_ID}
  function push() {
    var sid = sessionId(), api = window.jivo_api;
    if (!sid || !api || typeof api.setUserToken !== 'function') return false;
    if (String(sid) !== sent) { api.setUserToken(String(sid)); sent = String(sid); }
    return true;
  }
  var previous = window.jivo_onLoadCallback;
  window.jivo_onLoadCallback = function () {
    if (typeof previous === 'function') { try { previous.apply(this, arguments); } catch (e) {} }
    sent = null;
    push();
  };
  (function wait() { if (!push() && ++tries < 240) setTimeout(wait, 500); })();
})();
</script>`;
}

/**
 * amoCRM (docs/facts/chat-sources.md#amocrm-site-script): `amo_social_button.setMeta({lead: {custom_fields: [{id,
 * values: [{value}]}]}})` fills the field of the lead (or contact) the first message creates. This
 * call is community knowledge (Roistat and others use it), not in amoCRM's documentation. The
 * multi-widget's embed code defines `amo_social_button` with a queueing `setMeta` before its
 * script loads; our script waits for it and for the UIS tracker.
 */
export function amoSiteScript(field: SessionField): string {
  const fieldId = Math.trunc(Number(field.fieldId));
  const entity = field.entity === 'contacts' ? 'contact' : 'lead';
  return `<!-- UIS OMNI: сквозная аналитика для amoCRM, v${AMO_SCRIPT_VERSION}. Вставьте на каждую страницу после кода UIS. -->
<script>
(function () {
  var FIELD_ID = ${fieldId}, tries = 0;
  ${SESSION_ID}
  function push() {
    var sid = sessionId(), button = window.amo_social_button;
    if (!sid || !button || typeof button.setMeta !== 'function') return false;
    var meta = {};
    meta['${entity}'] = { custom_fields: [{ id: FIELD_ID, values: [{ value: String(sid) }] }] };
    button.setMeta(meta);
    return true;
  }
  (function wait() { if (!push() && ++tries < 240) setTimeout(wait, 500); })();
})();
</script>`;
}
