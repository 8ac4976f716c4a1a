/*
 * Parent side of the Bitrix24 frame protocol (docs/facts/bitrix24-frame.md#portal-opens-app, docs/facts/bitrix24-frame.md#parent-reply, docs/facts/bitrix24-frame.md#frame-commands, docs/facts/bitrix24-frame.md#init-data, docs/facts/bitrix24-frame.md#host-page),
 * following the portal's applayout.js:
 * - the iframe gets name="DOMAIN|0|APP_SID" before it is inserted, then a hidden form POSTs the
 *   launch fields into it;
 * - messages are accepted only from the app's origin and only with our APP_SID;
 * - string form "cmd:params:callbackId:appSid" (params may contain ':') and object form
 *   {method, params, callback, appSid}; replies are "callbackId:" + JSON to the app origin;
 * - denied commands (non-DEFAULT: setTitle, setScroll, reloadWindow) and unknown ones stay silent;
 *   im* never answer; setAppOption answers only admins; setInstallFinish never answers, it
 *   reloads the page with install_finished=Y.
 * window.__emu.log records every accepted and ignored message for browser tests.
 */
(function () {
  'use strict';

  var emu = (window.__emu = { log: [], config: null });
  var cfgEl = document.getElementById('emu-frame-config');
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  emu.config = cfg;

  var layout = document.getElementById('appframe_layout_' + cfg.appSid);
  var state = { firstRun: !!cfg.initData.FIRST_RUN, boundEvents: [] };

  // docs/facts/bitrix24-frame.md#window-name: the name must be set before the iframe enters the document
  var iframe = document.createElement('iframe');
  iframe.name = cfg.frameName;
  iframe.id = 'appframe_' + cfg.appSid;
  iframe.className = 'app-frame';
  iframe.setAttribute('frameborder', '0');
  iframe.setAttribute('allow', 'geolocation *; microphone *; camera *; autoplay *; clipboard-write *');
  iframe.addEventListener('load', function () {
    try {
      if (iframe.contentWindow.location.href === 'about:blank') return; // the empty frame before the POST lands
    } catch (err) {
      /* cross-origin: the app has loaded */
    }
    var loader = layout.querySelector('.app-loading-msg');
    if (loader) loader.parentNode.removeChild(loader);
  });
  layout.appendChild(iframe);

  var form = document.createElement('form');
  form.method = 'POST';
  form.action = cfg.url;
  form.target = cfg.frameName;
  form.style.display = 'none';
  Object.keys(cfg.form).forEach(function (key) {
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = key;
    input.value = cfg.form[key];
    form.appendChild(input);
  });
  document.body.appendChild(form);
  form.submit();

  function query(action, params) {
    var body = { action: action, sid: cfg.appSid };
    Object.keys(params || {}).forEach(function (k) {
      body[k] = params[k];
    });
    return fetch('/_emu/layout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json();
    });
  }

  function addUrlParam(url, key, value) {
    var u = new URL(url);
    u.searchParams.set(key, value);
    return u.toString();
  }

  var handlers = {
    getInitData: function (params, cb) {
      var data = JSON.parse(JSON.stringify(cfg.initData));
      data.DOMAIN = location.host;
      data.FIRST_RUN = state.firstRun;
      cb(data);
      state.firstRun = false;
    },
    getInterface: function (params, cb) {
      var command = Object.keys(handlers).filter(function (c) {
        return cfg.denied.indexOf(c) < 0 && c !== 'placementBindEvent';
      });
      cb({ command: command, event: [] });
    },
    refreshAuth: function (params, cb) {
      query('access_refresh').then(function (data) {
        if (!data || !data.access_token) {
          window.alert('Unable to get new token! Reload page, please!');
          return;
        }
        cfg.initData.AUTH_ID = data.access_token;
        cfg.initData.AUTH_EXPIRES = String(data.expires_in);
        cfg.initData.REFRESH_ID = data.refresh_token;
        // applayout.js answers expires_in as it came from the server (a number here)
        cb({ AUTH_ID: data.access_token, AUTH_EXPIRES: data.expires_in, REFRESH_ID: data.refresh_token });
      });
    },
    resizeWindow: function (params, cb) {
      params = params || {};
      var width = params.width == '100%' ? params.width : (parseInt(params.width, 10) || 100) + 'px';
      var height = parseInt(params.height, 10);
      if (width) layout.style.width = width;
      if (height) layout.style.height = height + 'px';
      var rect = layout.getBoundingClientRect();
      cb({ width: rect.width, height: rect.height });
    },
    setTitle: function (params, cb) {
      var title = String((params && params.title) || '');
      var h = document.getElementById('pagetitle');
      if (h) h.textContent = title;
      document.title = title;
      cb(params);
    },
    setScroll: function (params, cb) {
      if (params && typeof params.scroll !== 'undefined' && params.scroll >= 0) {
        window.scrollTo(window.scrollX, parseInt(params.scroll, 10));
      }
      cb(params);
    },
    reloadWindow: function () {
      window.location.reload();
    },
    setUserOption: function (params, cb) {
      var opts = cfg.initData.USER_OPTIONS;
      if (Array.isArray(opts)) opts = cfg.initData.USER_OPTIONS = {};
      opts[params.name] = params.value;
      query('set_user_option', { name: params.name, value: params.value }).then(function () {
        cb(params);
      });
    },
    setAppOption: function (params, cb) {
      if (!cfg.isAdmin) return; // silent for non-admins: the SDK resolves after its 900 ms timeout
      query('set_option', { options: [{ name: params.name, value: params.value }] }).then(function (data) {
        var opts = cfg.initData.APP_OPTIONS;
        if (Array.isArray(opts)) opts = cfg.initData.APP_OPTIONS = {};
        opts[params.name] = params.value;
        cb(data);
      });
    },
    setInstall: function (params, cb) {
      query('set_install', { install: !!(params && params.install) }).then(function () {
        cb(params);
      });
    },
    setInstallFinish: function (params) {
      var v = !params || typeof params.value === 'undefined' || params.value !== false ? 'Y' : 'N';
      query('set_installed', { v: v }).then(function (data) {
        // never answers: the portal reloads itself
        window.location = addUrlParam(window.location.href, 'install_finished', data && data.result ? 'Y' : 'N');
      });
    },
    openPath: function (params, cb) {
      var path = params && typeof params.path === 'string' ? params.path : '';
      var available = /^\/(crm\/(deal|lead|contact|company|type)|marketplace|company\/personal\/user\/[0-9]+|workgroups\/group\/[0-9]+)\//;
      if (path !== '' && available.test(path)) {
        window.open(path, '_blank');
        cb({ result: 'close' });
      } else {
        cb({ result: 'error', errorCode: 'PATH_NOT_AVAILABLE' });
      }
    },
    // slider.openSliderAppPage (docs/facts/bitrix24-frame.md#frame-commands): the app's main page in a slider over this
    // page, the caller's params (less bx24_*) as its PLACEMENT_OPTIONS; answered when it closes
    openApplication: function (params, cb) {
      var options = {};
      Object.keys(params || {}).forEach(function (k) {
        if (k.indexOf('bx24_') !== 0 && k !== 'isSafely') options[k] = params[k];
      });
      var slider = document.createElement('div');
      slider.className = 'emu-slider';
      slider.setAttribute('data-testid', 'emu-slider');
      var close = document.createElement('button');
      close.type = 'button';
      close.className = 'emu-slider-close';
      close.setAttribute('aria-label', 'Закрыть');
      close.textContent = '×';
      var frame = document.createElement('iframe');
      frame.className = 'emu-slider-frame';
      frame.src = '/marketplace/app/?slider=Y&options=' + encodeURIComponent(JSON.stringify(options));
      close.addEventListener('click', function () {
        slider.parentNode.removeChild(slider);
        cb({});
      });
      slider.appendChild(close);
      slider.appendChild(frame);
      document.body.appendChild(slider);
      emu.log.push({ slider: 'open', options: options });
    },
    placementBindEvent: function (params) {
      if (params && params.event) state.boundEvents.push(params.event);
    },
    // fire-and-forget in the real portal (#331): never answered
    imCallTo: function () {},
    imPhoneTo: function () {},
    imOpenMessenger: function () {},
    imOpenHistory: function () {},
  };

  function split(s) {
    var r = s.split(':');
    return [r[0], r.slice(1, r.length - 2).join(':'), r[r.length - 2], r[r.length - 1]];
  }

  window.addEventListener('message', function (e) {
    if (e.origin !== cfg.appOrigin) {
      emu.log.push({ ignored: 'origin', origin: e.origin });
      return;
    }
    var data = e.data;
    if (typeof data !== 'string' && (typeof data !== 'object' || data === null)) return;
    var method, params, cb, sid;
    if (typeof data === 'object') {
      method = data.method;
      params = data.params || [];
      cb = data.callback;
      sid = data.appSid;
    } else {
      var parts = split(data);
      method = parts[0];
      cb = parts[2];
      sid = parts[3];
      params = [];
      if (parts[1]) {
        try {
          params = JSON.parse(parts[1]);
        } catch (err) {
          emu.log.push({ ignored: 'params', data: data });
          return;
        }
      }
    }
    if (sid !== cfg.appSid) {
      emu.log.push({ ignored: 'appSid', method: method });
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(handlers, method) || cfg.denied.indexOf(method) >= 0) {
      emu.log.push({ ignored: 'method', method: method });
      return;
    }
    emu.log.push({ method: method, params: params });
    var reply = !cb
      ? function () {}
      : function (res) {
          if (!iframe.contentWindow) return;
          iframe.contentWindow.postMessage(cb + ':' + (typeof res === 'undefined' ? '' : JSON.stringify(res)), cfg.appOrigin);
        };
    handlers[method](params, reply);
  });
})();
