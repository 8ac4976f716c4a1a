/* global window, document, fetch, setInterval */
/*
 * The portal's call card pop-up and click-to-call (telephony/host.ts): polls /_emu/telephony/cards
 * for the current user and shows each card the app showed (telephony.externalCall.show) until it is
 * hidden (hide / finish for that user) or closed; a click on a phone link of a CRM card posts
 * /_emu/telephony/click. window.__tel keeps the last state for browser tests.
 */
(function () {
  'use strict';

  var state = (window.__tel = { cards: [], lastClick: null });
  var box = document.createElement('div');
  box.id = 'call-cards';
  box.setAttribute('data-testid', 'call-cards');
  box.style.cssText = 'position:fixed;right:18px;bottom:18px;z-index:1000;display:flex;flex-direction:column;gap:10px;width:300px';
  document.body.appendChild(box);
  var toast = document.createElement('div');
  toast.id = 'call-toast';
  toast.style.cssText = 'position:fixed;left:50%;top:64px;transform:translateX(-50%);z-index:1001;background:#333;color:#fff;padding:8px 14px;border-radius:8px;display:none';
  document.body.appendChild(toast);

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function render() {
    box.innerHTML = state.cards
      .map(function (c) {
        return (
          '<div class="card" data-testid="call-card" data-call-id="' + esc(c.callId) + '" style="margin:0;box-shadow:0 6px 24px rgba(0,0,0,.25)">' +
          '<div class="muted">' + esc(c.direction) + ' звонок' + (c.line ? ' · ' + esc(c.line) : '') + (c.live ? '' : ' · завершён') + '</div>' +
          '<div style="font-size:18px;font-weight:600" data-testid="call-card-phone">' + esc(c.phone) + '</div>' +
          (c.crm ? '<div><a href="' + esc(c.crm.url) + '" data-testid="call-card-crm">' + esc(c.crm.type) + ' #' + esc(c.crm.id) + '</a></div>' : '<div class="muted">Клиент не найден в CRM</div>') +
          '<button type="button" class="button" data-close="' + esc(c.callId) + '" style="margin-top:8px">Закрыть</button></div>'
        );
      })
      .join('');
  }

  function poll() {
    fetch('/_emu/telephony/cards', { credentials: 'same-origin' })
      .then(function (r) {
        return r.ok ? r.json() : { cards: [] };
      })
      .then(function (data) {
        state.cards = data.cards || [];
        render();
      })
      .catch(function () {});
  }

  function show(text) {
    toast.textContent = text;
    toast.style.display = 'block';
    window.setTimeout(function () {
      toast.style.display = 'none';
    }, 4000);
  }

  document.addEventListener('click', function (ev) {
    var close = ev.target.closest('[data-close]');
    if (close) {
      fetch('/_emu/telephony/cards/close', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ callId: close.getAttribute('data-close') }),
      }).then(poll);
      return;
    }
    var link = ev.target.closest('a.phone-link');
    if (!link) return;
    ev.preventDefault();
    fetch('/_emu/telephony/click', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: link.getAttribute('data-phone'), entityType: link.getAttribute('data-entity-type'), entityId: link.getAttribute('data-entity-id') }),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (out) {
        state.lastClick = out;
        show(out.started ? 'Звонок через приложение: ' + link.getAttribute('data-phone') : 'Звонок не начат: ' + (out.reason || ''));
        poll();
      });
  });

  poll();
  setInterval(poll, 1000);
})();
