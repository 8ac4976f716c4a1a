/* global window, document, fetch, URL */
/*
 * The emulated multi-widget («Кнопка на сайт», https://gso.amocrm.ru/js/button.js). The site's
 * embed code defines `window.amo_social_button = {id, hash, locale, setMeta(p) { this.params =
 * (this.params || []).concat([p]) }}` and the queue function `amoSocialButton(...)`, then loads
 * this script (docs/facts/chat-sources.md#amocrm-site-script). Loaded, it takes the queued `params`, replaces `setMeta` by
 * its own and runs the queued `amoSocialButton` calls (onChatReady, onButtonClick, onChatShow).
 *
 * `setMeta({lead: {custom_fields: [{id, values: [{value}]}]}})` is community knowledge, not in
 * amoCRM's docs. Chosen (harsher): the values go into the lead that the FIRST message creates; a
 * later setMeta does not change a lead that exists. window.__amo.log records what happened.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var base = new URL(script.src).origin;
  var cfg = window.amo_social_button || {};
  var meta = Array.isArray(cfg.params) ? cfg.params.slice() : [];
  var log = [];
  var talk = null;
  var callbacks = { onChatReady: [], onButtonClick: [], onChatShow: [] };
  window.__amo = { log: log, meta: meta };

  cfg.setMeta = function (p) {
    log.push({ method: 'setMeta', args: [p] });
    meta.push(p);
  };
  window.amo_social_button = cfg;

  function leadFields() {
    var out = [];
    meta.forEach(function (p) {
      var fields = (p && p.lead && p.lead.custom_fields) || [];
      fields.forEach(function (f) {
        var v = f && f.values && f.values[0] && f.values[0].value;
        if (f && f.id && v !== undefined) out.push({ id: Number(f.id), value: String(v) });
      });
    });
    return out;
  }

  function api(name, arg) {
    log.push({ method: 'amoSocialButton', args: [name] });
    if (callbacks[name] && typeof arg === 'function') callbacks[name].push(arg);
    if (name === 'runChatShow') open();
  }
  var queued = (window.amoSocialButton && window.amoSocialButton.q) || [];
  window.amoSocialButton = api;
  queued.forEach(function (args) {
    api(args[0], args[1]);
  });

  var box;
  function open() {
    box.style.display = 'block';
    callbacks.onChatShow.forEach(function (f) {
      f();
    });
  }

  function send(event) {
    event.preventDefault();
    var form = event.target;
    var body = {
      button: String(cfg.id || ''),
      talkId: talk,
      name: form.querySelector('[name=name]').value,
      phone: form.querySelector('[name=phone]').value,
      text: form.querySelector('[name=text]').value,
      fields: leadFields(),
    };
    fetch(base + '/button/message', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.json();
      })
      .then(function (r) {
        talk = r.talkId;
        var item = document.createElement('div');
        item.className = 'amo-msg';
        item.textContent = body.text;
        box.querySelector('.amo-msgs').appendChild(item);
      });
  }

  var button = document.createElement('button');
  button.className = 'amo-button';
  button.textContent = 'Онлайн-чат';
  button.addEventListener('click', function () {
    callbacks.onButtonClick.forEach(function (f) {
      f('livechat');
    });
    open();
  });
  box = document.createElement('div');
  box.className = 'amo-chat';
  box.style.display = 'none';
  var msgs = document.createElement('div');
  msgs.className = 'amo-msgs';
  var form = document.createElement('form');
  form.className = 'amo-form';
  ['name', 'phone', 'text'].forEach(function (n) {
    var input = document.createElement('input');
    input.name = n;
    input.placeholder = n;
    form.appendChild(input);
  });
  var submit = document.createElement('button');
  submit.type = 'submit';
  submit.textContent = 'Отправить';
  form.appendChild(submit);
  form.addEventListener('submit', send);
  box.appendChild(msgs);
  box.appendChild(form);
  document.body.appendChild(button);
  document.body.appendChild(box);
  log.push({ method: 'loaded', args: [] });
  callbacks.onChatReady.forEach(function (f) {
    f();
  });
})();
