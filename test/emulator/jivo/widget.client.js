/* global window, document, fetch, setTimeout, localStorage, URL */
/*
 * The emulated Jivo site widget, loaded with <script src="<emulator>/widget/<widget_id>.js" async>.
 * Like the real one (jivo.ru/docs/widget): `window.jivo_api` exists only once the widget has
 * initialised, and then the widget calls the site's `jivo_onLoadCallback()` (all jivo_api calls
 * belong there). Methods: setUserToken(token) (passed in every webhook as `user_token`),
 * setContactInfo({name, email, phone, description}), getContactInfo(), setCustomData(fields),
 * getVisitorNumber(cb), getUtm(), open(), close(). `jivo_onOpen` and `jivo_onMessageSent` are
 * called when the window opens and when the visitor sends the first message.
 * window.__jivo.log records every API call (browser tests). Initialisation takes `?delay=` ms
 * (default 300), so the site's scripts and the widget arrive in any order.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var src = new URL(script.src);
  var base = src.origin;
  var widgetId = src.pathname.split('/').pop().replace(/\.js$/, '');
  var delay = Number(src.searchParams.get('delay') || '300');
  var key = 'jivo-visitor-' + base + '-' + widgetId;
  var visitor = localStorage.getItem(key);
  if (!visitor) {
    visitor = String(Math.floor(Math.random() * 1e9));
    localStorage.setItem(key, visitor);
  }
  var state = { userToken: null, contact: {}, customData: [], opened: false, sent: false, chatId: null };
  var log = [];
  window.__jivo = { log: log, state: state, widgetId: widgetId };

  function note(method, args) {
    log.push({ method: method, args: args });
  }

  function call(cb) {
    if (typeof cb === 'function') cb();
  }

  var api = {
    setUserToken: function (token) {
      note('setUserToken', [token]);
      state.userToken = token == null ? null : String(token);
      return { result: 'ok' };
    },
    setContactInfo: function (info) {
      note('setContactInfo', [info]);
      state.contact = Object.assign({}, state.contact, info || {});
      return { result: 'ok' };
    },
    getContactInfo: function () {
      note('getContactInfo', []);
      return { client_name: state.contact.name || null, email: state.contact.email || null, phone: state.contact.phone || null, description: state.contact.description || null };
    },
    setCustomData: function (fields) {
      note('setCustomData', [fields]);
      state.customData = Array.isArray(fields) ? fields.slice(0, 10) : [];
      return { result: 'ok' };
    },
    getVisitorNumber: function (cb) {
      note('getVisitorNumber', []);
      if (typeof cb === 'function') cb(null, visitor);
    },
    getUtm: function () {
      note('getUtm', []);
      return null;
    },
    open: function () {
      note('open', []);
      show(true);
      return { result: 'ok' };
    },
    close: function () {
      note('close', []);
      show(false);
      return { result: 'ok' };
    },
  };

  var box;
  function show(on) {
    if (!box) return;
    box.style.display = on ? 'block' : 'none';
    if (on && !state.opened) {
      state.opened = true;
      call(window.jivo_onOpen);
    }
  }

  function send(event) {
    event.preventDefault();
    var form = event.target;
    var text = form.querySelector('[name=text]').value;
    if (!text) return;
    var name = form.querySelector('[name=name]').value;
    var phone = form.querySelector('[name=phone]').value;
    var body = {
      visitor: visitor,
      name: name || state.contact.name || null,
      phone: phone || state.contact.phone || null,
      email: state.contact.email || null,
      text: text,
      userToken: state.userToken,
      page: window.location.href,
    };
    fetch(base + '/widget/' + encodeURIComponent(widgetId) + '/message', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.json();
      })
      .then(function (r) {
        state.chatId = r.chatId;
        var item = document.createElement('div');
        item.className = 'jivo-msg';
        item.textContent = text;
        box.querySelector('.jivo-msgs').appendChild(item);
        form.querySelector('[name=text]').value = '';
        if (!state.sent) {
          state.sent = true;
          call(window.jivo_onMessageSent);
        }
      });
  }

  function build() {
    var label = document.createElement('button');
    label.className = 'jivo-label';
    label.textContent = 'Напишите нам, мы онлайн!';
    label.addEventListener('click', function () {
      api.open();
    });
    box = document.createElement('div');
    box.className = 'jivo-box';
    box.style.display = 'none';
    var msgs = document.createElement('div');
    msgs.className = 'jivo-msgs';
    var form = document.createElement('form');
    form.className = 'jivo-form';
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
    document.body.appendChild(label);
    document.body.appendChild(box);
  }

  setTimeout(function () {
    build();
    window.jivo_api = api;
    note('loaded', []);
    call(window.jivo_onLoadCallback);
  }, delay);
})();
