// The live overview: listens to /staff/live/events and rewrites the tiles and the latest
// arrivals. EventSource reconnects by itself (and the page reloads if the stream is refused); the page works without this script (server-rendered
// figures, a refresh link, and the big screen's meta refresh).
(function () {
  'use strict';
  var root = document.querySelector('[data-live-stream]');
  if (!root || !window.EventSource) return;
  var state = document.getElementById('live-state');
  var list = document.getElementById('live-arrivals');
  var empty = document.getElementById('live-empty');
  var meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) meta.parentNode.removeChild(meta);

  function say(text) { if (state) state.textContent = text; }

  function item(a) {
    var li = document.createElement('li');
    var parts = [['time', a.time], ['place', a.place], ['kind', a.kind], ['what', a.what]];
    parts.forEach(function (p, i) {
      var el = document.createElement(p[0] === 'time' ? 'time' : 'span');
      if (p[0] !== 'time') el.className = p[0];
      el.textContent = p[1];
      if (i > 0) li.appendChild(document.createTextNode(' '));
      li.appendChild(el);
    });
    return li;
  }

  function show(o) {
    root.querySelectorAll('[data-live]').forEach(function (el) {
      var key = el.getAttribute('data-live');
      if (Object.prototype.hasOwnProperty.call(o, key)) el.textContent = String(o[key]);
    });
    if (list) {
      while (list.firstChild) list.removeChild(list.firstChild);
      o.arrivals.forEach(function (a) { list.appendChild(item(a)); });
    }
    if (empty) empty.hidden = o.arrivals.length > 0;
  }

  var source = new EventSource(root.getAttribute('data-live-stream'));
  source.addEventListener('figures', function (e) {
    try {
      show(JSON.parse(e.data));
      say('实时更新中');
    } catch (err) {
      say('数据格式有误，等待下次更新');
    }
  });
  source.addEventListener('open', function () { say('实时更新中'); });
  source.addEventListener('error', function () {
    say('连接中断，正在重新连接…');
    // EventSource retries by itself unless the answer was not a stream (a restart mid-request,
    // an expired session): then reload, which also shows the login page if needed.
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(function () { window.location.reload(); }, 15000);
    }
  });
})();
