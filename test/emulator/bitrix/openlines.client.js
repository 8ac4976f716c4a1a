/* global window, document, fetch, setInterval, FileReader */
/*
 * «Открытые линии» operator screen of the emulated portal (host-openlines.ts). Plain JS: polls
 * /_emu/ol/state, lists chats per line with their connector, shows the dialog both ways with
 * delivery marks, and lets the operator accept, reply (with files) and close the dialog.
 * window.__ol exposes the last state for browser tests.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('ol-config').textContent);
  var listEl = document.getElementById('ol-list');
  var dialogEl = document.getElementById('ol-dialog');
  var state = (window.__ol = { data: null, selected: cfg.selected || 0, pendingFiles: [] });
  var draft = '';

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  /** A tiny BBCode view for ATTACH blocks ([b], [br], [url], newlines); message texts come rendered as m.html. */
  function bb(text) {
    return esc(text)
      .replace(/\[b\]([\s\S]*?)\[\/b\]/gi, '<b>$1</b>')
      .replace(/\[i\]([\s\S]*?)\[\/i\]/gi, '<i>$1</i>')
      .replace(/\[url=([^\]]+)\]([\s\S]*?)\[\/url\]/gi, '<a href="$1">$2</a>')
      .replace(/\[br\]/gi, '<br>')
      .replace(/\n/g, '<br>');
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error || 'ошибка');
        return j;
      });
    });
  }

  var MARKS = { sending: 'отправляется…', delivered: '✓✓ доставлено', 'not-delivered': '⚠ не доставлено' };

  function renderList() {
    var d = state.data;
    var html = '';
    d.lines.forEach(function (line) {
      var chats = d.chats.filter(function (c) {
        return c.lineId === line.id;
      });
      html += '<div class="ol-line"><div class="ol-line-name">' + esc(line.name) + '</div>';
      if (!chats.length) html += '<p class="muted small">нет чатов</p>';
      chats
        .slice()
        .reverse()
        .forEach(function (c) {
          var status = c.closed ? 'завершён' : c.accepted ? 'в работе · ' + c.operatorName : 'новый';
          html +=
            '<a href="#" class="ol-chat' + (c.id === state.selected ? ' is-active' : '') + (c.closed ? ' is-closed' : '') + '" data-chat="' + c.id + '">' +
            '<b>' + esc(c.title) + '</b><small>' + esc(c.connectorTitle) + ' · ' + esc(status) + '</small></a>';
        });
      html += '</div>';
    });
    listEl.innerHTML = html || '<p class="muted">Линий нет</p>';
  }

  function fileHtml(f) {
    if (!f.fetched) return '<div class="ol-file is-broken" title="' + esc(f.error) + '">⚠ ' + esc(f.name) + ' — файл не загружен</div>';
    var img = /^image\//.test(f.mime) ? '<img src="' + esc(f.link) + '" alt="">' : '';
    return '<div class="ol-file">' + img + '<a href="' + esc(f.downloadLink) + '">' + esc(f.name) + '</a> <small>' + f.size + ' Б</small></div>';
  }

  function attachHtml(params) {
    var out = '';
    (params.ATTACH || []).forEach(function (a) {
      out += '<div class="ol-attach">';
      (a.BLOCKS || []).forEach(function (b) {
        if (b.MESSAGE) out += '<div>' + bb(b.MESSAGE) + '</div>';
        (b.USER || []).forEach(function (u) {
          out += '<div><b>' + esc(u.NAME) + '</b></div>';
        });
        (b.LINK || []).forEach(function (l) {
          out += '<div><a href="' + esc(l.LINK) + '">' + esc(l.NAME || l.LINK) + '</a></div>';
        });
        (b.GRID || []).forEach(function (g) {
          out += '<div><span class="muted">' + esc(g.NAME) + ':</span> ' + esc(g.VALUE) + '</div>';
        });
      });
      out += '</div>';
    });
    return out;
  }

  function renderDialog() {
    var c = state.data.chats.find(function (x) {
      return x.id === state.selected;
    });
    if (!c) {
      dialogEl.innerHTML = '<p class="muted">Выберите чат слева.</p>';
      return;
    }
    var open = !c.closed;
    var mine = open && c.accepted && c.operatorId === cfg.userId;
    var head =
      '<div class="ol-head"><div><b>' + esc(c.title) + '</b><br><small class="muted">' + esc(c.connectorTitle) + ' · ' + esc(c.lineName) +
      (c.user.phone ? ' · ' + esc(c.user.phone) : '') + ' · <code>' + esc(c.userCode) + '</code></small></div><div>' +
      (open && !mine ? '<button class="button" id="ol-accept">Принять</button> ' : '') +
      (open ? '<button class="button is-grey" id="ol-close">Завершить диалог</button>' : '<span class="muted">диалог завершён</span>') +
      '</div></div>';
    var msgs = c.messages
      .filter(function (m) {
        return !m.hidden;
      })
      .map(function (m) {
        // m.html: the text rendered server-side as Bitrix24 renders BBCode (bbcode.ts)
        if (m.direction === 'system') return '<div class="ol-msg is-system" data-id="' + m.id + '">' + m.html + attachHtml(m.params) + '</div>';
        var mark = m.delivery ? '<span class="ol-mark is-' + m.delivery + '">' + MARKS[m.delivery] + '</span>' : '';
        return (
          '<div class="ol-msg is-' + m.direction + (m.deleted ? ' is-deleted' : '') + '" data-id="' + m.id + '"><small class="muted">' + esc(m.authorName) + ' · ' +
          esc(m.date.slice(11, 16)) + '</small><div>' + (m.deleted ? '<i>Сообщение удалено</i>' : m.html) + '</div>' +
          m.files.map(fileHtml).join('') + mark + '</div>'
        );
      })
      .join('');
    var box = mine
      ? '<form class="ol-reply" id="ol-reply"><textarea id="ol-text" rows="3" placeholder="Сообщение клиенту…">' + esc(draft) + '</textarea>' +
        '<div><input type="file" id="ol-files" multiple> <button class="button" type="submit">Отправить</button></div></form>'
      : open
        ? '<p class="notice">Чтобы ответить, примите чат.</p>'
        : '';
    dialogEl.innerHTML = head + '<div class="ol-messages" id="ol-messages">' + msgs + '</div>' + box;
    var scroller = document.getElementById('ol-messages');
    scroller.scrollTop = scroller.scrollHeight;
  }

  function render() {
    renderList();
    var active = document.activeElement;
    if (active && active.id === 'ol-text') return; // do not wipe what the operator is typing
    renderDialog();
  }

  function load() {
    return fetch('/_emu/ol/state', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        return r.json();
      })
      .then(function (d) {
        state.data = d;
        render();
      });
  }

  function readFiles(input) {
    var files = Array.prototype.slice.call((input && input.files) || []);
    return Promise.all(
      files.map(function (f) {
        return new Promise(function (resolve) {
          var reader = new FileReader();
          reader.onload = function () {
            resolve({ name: f.name, mime: f.type, base64: String(reader.result).split(',')[1] || '' });
          };
          reader.readAsDataURL(f);
        });
      }),
    );
  }

  document.addEventListener('click', function (e) {
    var chat = e.target.closest && e.target.closest('[data-chat]');
    if (chat) {
      e.preventDefault();
      state.selected = Number(chat.getAttribute('data-chat'));
      draft = '';
      render();
      return;
    }
    if (e.target.id === 'ol-accept') post('/_emu/ol/accept', { chatId: state.selected }).then(load, alertError);
    if (e.target.id === 'ol-close') post('/_emu/ol/close', { chatId: state.selected }).then(load, alertError);
  });

  document.addEventListener('input', function (e) {
    if (e.target.id === 'ol-text') draft = e.target.value;
  });

  document.addEventListener('submit', function (e) {
    if (e.target.id !== 'ol-reply') return;
    e.preventDefault();
    var text = document.getElementById('ol-text').value;
    readFiles(document.getElementById('ol-files')).then(function (files) {
      if (!text.trim() && !files.length) return;
      post('/_emu/ol/reply', { chatId: state.selected, text: text, files: files }).then(function () {
        draft = '';
        document.getElementById('ol-text').blur();
        return load();
      }, alertError);
    });
  });

  function alertError(err) {
    window.alert(err.message);
  }

  load();
  setInterval(load, 1500);
})();
