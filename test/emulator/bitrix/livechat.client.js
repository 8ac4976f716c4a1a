/* global window, document, fetch, setInterval, localStorage, CustomEvent, URL, console */
/*
 * The emulated portal's site widget (Bitrix24 "Онлайн-чат"), loaded with
 * <script src="https://<portal>/_emu/livechat/loader.js?line=1"></script>.
 * Like the real loader it dispatches `window` event `onBitrixLiveChat` with `detail.widget`, whose
 * API the site can use: open(), close(), subscribe({type, callback}), setUserRegisterData({hash,
 * name, lastName, email, phone}), setCustomData(array of attach blocks | string; calls add up),
 * setOption(), addLocalize(); `BX.LiveChatWidget.SubscriptionType` names the events.
 * The custom data goes to the portal when the visitor registers (on the first message), as the
 * real widget sends CUSTOM_DATA with imopenlines.widget.user.register.
 * window.BXLiveChat is the widget; window.__livechat.log records what happened (browser tests).
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var src = new URL(script.src);
  var base = src.origin;
  var line = src.searchParams.get('line') || '1';
  var storageKey = 'bx-livechat-' + base + '-' + line;

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function randomHash() {
    var out = '';
    for (var i = 0; i < 32; i++) out += Math.floor(Math.random() * 16).toString(16);
    return out;
  }

  var log = [];
  var state = {
    hash: localStorage.getItem(storageKey) || randomHash(),
    customData: [],
    userData: {},
    subs: [],
    options: {},
    registered: false,
    opened: false,
    shown: 0,
  };
  localStorage.setItem(storageKey, state.hash);

  var SubscriptionType = {
    configLoaded: 'configLoaded',
    widgetOpen: 'widgetOpen',
    widgetClose: 'widgetClose',
    sessionStart: 'sessionStart',
    sessionFinish: 'sessionFinish',
    operatorMessage: 'operatorMessage',
    userMessage: 'userMessage',
    userForm: 'userForm',
    every: 'every',
  };
  window.BX = window.BX || {};
  window.BX.LiveChatWidget = { SubscriptionType: SubscriptionType };

  function emit(type, data) {
    log.push({ event: type, data: data });
    state.subs.forEach(function (s) {
      if (s.type === type || s.type === SubscriptionType.every) {
        try {
          s.callback(s.type === SubscriptionType.every ? { type: type, data: data } : data);
        } catch (err) {
          console.error(err);
        }
      }
    });
  }

  var widget = {
    open: function () {
      state.opened = true;
      panel.style.display = 'flex';
      emit(SubscriptionType.widgetOpen, {});
      poll();
    },
    close: function () {
      state.opened = false;
      panel.style.display = 'none';
      emit(SubscriptionType.widgetClose, {});
    },
    subscribe: function (params) {
      if (!params || typeof params.callback !== 'function') return false;
      state.subs.push({ type: params.type || SubscriptionType.every, callback: params.callback });
      return true;
    },
    setUserRegisterData: function (params) {
      state.userData = params || {};
      if (state.userData.hash) state.hash = String(state.userData.hash);
      return true;
    },
    /** arrays of attach blocks are concatenated; a string becomes one MESSAGE block */
    setCustomData: function (params) {
      var blocks = [];
      if (Array.isArray(params)) {
        params.forEach(function (p) {
          if (p && typeof p === 'object') blocks.push(p);
        });
        if (!blocks.length) {
          console.error('LiveChatWidget.setCustomData: params is empty');
          return false;
        }
      } else if (typeof params === 'string' && params !== '') {
        blocks.push({ MESSAGE: params });
      } else {
        console.error('LiveChatWidget.setCustomData: params is not an array or a string');
        return false;
      }
      state.customData = state.customData.concat(blocks);
      log.push({ setCustomData: blocks });
      if (state.registered) register(); // a later call refreshes the cached data for the next session
      return true;
    },
    setOption: function (name, value) {
      state.options[name] = value;
      return true;
    },
    addLocalize: function () {
      return true;
    },
    getCustomData: function () {
      return state.customData.slice();
    },
  };
  window.BXLiveChat = widget;
  window.__livechat = { log: log, state: state };

  // ---------------- UI ----------------
  var css = document.createElement('style');
  css.textContent =
    '.bxlc-btn{position:fixed;right:24px;bottom:24px;width:60px;height:60px;border-radius:50%;background:#2fc6f6;color:#fff;border:0;font-size:15px;font-weight:bold;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.2);z-index:9998}' +
    '.bxlc-panel{position:fixed;right:24px;bottom:96px;width:340px;height:460px;background:#fff;border-radius:12px;box-shadow:0 6px 24px rgba(0,0,0,.25);display:none;flex-direction:column;font:14px/1.4 Arial,sans-serif;z-index:9999;overflow:hidden}' +
    '.bxlc-head{background:#2fc6f6;color:#fff;padding:12px 14px;font-weight:bold;display:flex;justify-content:space-between}' +
    '.bxlc-head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}' +
    '.bxlc-msgs{flex:1;overflow:auto;padding:10px;background:#f5f7f8}' +
    '.bxlc-msg{max-width:80%;margin:6px 0;padding:7px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}' +
    '.bxlc-msg.is-client{margin-left:auto;background:#d5f4fd}.bxlc-msg.is-operator{background:#fff;border:1px solid #e1e5e8}' +
    '.bxlc-msg small{display:block;color:#80868e;font-size:11px}' +
    '.bxlc-form{display:flex;gap:4px;padding:6px 8px;border-top:1px solid #e1e5e8}.bxlc-form input{flex:1;min-width:0;padding:6px;border:1px solid #c7d0d6;border-radius:6px}' +
    '.bxlc-send{display:flex;gap:6px;padding:8px;border-top:1px solid #e1e5e8}.bxlc-send textarea{flex:1;resize:none;padding:6px;border:1px solid #c7d0d6;border-radius:6px}' +
    '.bxlc-send button{background:#bbed21;border:0;border-radius:16px;padding:0 14px;font-weight:bold;cursor:pointer}';
  document.head.appendChild(css);

  var button = document.createElement('button');
  button.className = 'bxlc-btn';
  button.id = 'bx-livechat-button';
  button.title = 'Онлайн-чат';
  button.textContent = 'Чат';
  var panel = document.createElement('div');
  panel.className = 'bxlc-panel';
  panel.id = 'bx-livechat-panel';
  panel.innerHTML =
    '<div class="bxlc-head"><span>Онлайн-чат</span><button type="button" data-close>×</button></div>' +
    '<div class="bxlc-msgs" id="bx-livechat-messages"><p style="color:#80868e">Здравствуйте! Напишите нам, мы ответим.</p></div>' +
    '<div class="bxlc-form"><input id="bx-livechat-name" placeholder="Имя"><input id="bx-livechat-phone" placeholder="Телефон"><input id="bx-livechat-email" placeholder="E-mail"></div>' +
    '<form class="bxlc-send" id="bx-livechat-send"><textarea id="bx-livechat-text" rows="2" placeholder="Введите сообщение…"></textarea><button type="submit">Отпр.</button></form>';

  function mount() {
    document.body.appendChild(button);
    document.body.appendChild(panel);
    button.addEventListener('click', function () {
      if (state.opened) widget.close();
      else widget.open();
    });
    panel.querySelector('[data-close]').addEventListener('click', widget.close);
    panel.querySelector('#bx-livechat-send').addEventListener('submit', function (e) {
      e.preventDefault();
      var input = document.getElementById('bx-livechat-text');
      var text = input.value;
      if (!text.trim()) return;
      input.value = '';
      send(text);
    });
    // the real loader announces itself once the widget object exists
    window.dispatchEvent(new CustomEvent('onBitrixLiveChat', { detail: { widget: widget, line: line } }));
    emit(SubscriptionType.configLoaded, { line: line });
  }

  function api(path, body) {
    return fetch(base + '/_emu/livechat/' + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json();
    });
  }

  function visitor() {
    var u = state.userData;
    var form = {
      name: document.getElementById('bx-livechat-name').value || u.name || '',
      lastName: u.lastName,
      email: document.getElementById('bx-livechat-email').value || u.email || '',
      phone: document.getElementById('bx-livechat-phone').value || u.phone || '',
    };
    return { line: line, hash: state.hash, name: form.name, lastName: form.lastName, email: form.email, phone: form.phone };
  }

  function register() {
    var body = visitor();
    body.customData = JSON.stringify(state.customData);
    return api('register', body).then(function (r) {
      state.registered = true;
      log.push({ registered: r.result });
      return r;
    });
  }

  function send(text) {
    var first = !state.registered ? register() : Promise.resolve();
    return first.then(function () {
      var body = visitor();
      body.text = text;
      return api('send', body).then(function (r) {
        if (r.result) {
          emit(SubscriptionType.userMessage, { id: r.result.messageId, text: text });
          if (!state.sessionId || state.sessionId !== r.result.sessionId) emit(SubscriptionType.sessionStart, { sessionId: r.result.sessionId });
          state.sessionId = r.result.sessionId;
        }
        return poll();
      });
    });
  }

  function poll() {
    return fetch(base + '/_emu/livechat/messages?line=' + encodeURIComponent(line) + '&hash=' + encodeURIComponent(state.hash), { cache: 'no-store' })
      .then(function (r) {
        return r.json();
      })
      .then(function (r) {
        var list = r.result || [];
        var box = document.getElementById('bx-livechat-messages');
        if (!list.length) return;
        box.innerHTML = list
          .map(function (m) {
            var text = m.text.replace(/\[br\]/gi, '\n').replace(/\[\/?[a-z]+(=[^\]]*)?\]/gi, '');
            return '<div class="bxlc-msg is-' + m.from + '" data-id="' + m.id + '"><small>' + esc(m.from === 'client' ? 'Вы' : m.author) + '</small>' + esc(text) + '</div>';
          })
          .join('');
        list.slice(state.shown).forEach(function (m) {
          if (m.from === 'operator') emit(SubscriptionType.operatorMessage, m);
        });
        state.shown = list.length;
        box.scrollTop = box.scrollHeight;
      });
  }

  setInterval(function () {
    if (state.opened && state.registered) poll();
  }, 1500);

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
})();
