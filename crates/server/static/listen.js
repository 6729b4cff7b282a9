// 朗读 (read aloud): speaks the page's listening text — the <template id="listen-text"> the server
// writes in words (amounts in 元角分, dates, 尾号 for masked IDs, one sentence a paragraph) — with
// the browser's speech synthesis in zh-CN, one utterance per sentence so long rosters are not cut
// off. Without speech synthesis or a Chinese voice, the status line says so. Without this script
// the page is whole and the button stays hidden.
(function () {
  'use strict';
  var box = document.getElementById('listen');
  var source = document.getElementById('listen-text');
  var button = document.getElementById('listen-button');
  var status = document.getElementById('listen-status');
  if (!box || !source || !button || !status) return;
  var synth = window.speechSynthesis;
  var START = button.textContent;
  var STOP = button.getAttribute('data-stop') || '停止朗读';
  var NO_VOICE = '这台设备没有中文语音，无法朗读。可在系统设置中添加中文语音。';
  var reading = false;
  box.hidden = false;

  function show(text) { status.textContent = text; }

  function sentences() {
    return Array.prototype.map.call(source.content.querySelectorAll('p'), function (p) {
      return p.textContent.trim();
    }).filter(Boolean);
  }

  /** The best Chinese voice: Mandarin for the mainland first, then any other Chinese. */
  function chinese(voices) {
    var rank = function (v) {
      var lang = String(v.lang || '').replace('_', '-').toLowerCase();
      if (lang === 'zh-cn' || lang === 'cmn-cn' || lang.indexOf('zh-hans') === 0 || lang.indexOf('cmn-hans') === 0) return 3;
      if (lang.indexOf('cmn') === 0 || lang === 'zh') return 2;
      if (lang.indexOf('zh') === 0) return 1;
      return 0;
    };
    var best = null;
    voices.forEach(function (v) {
      if (rank(v) > 0 && (!best || rank(v) > rank(best) || (rank(v) === rank(best) && v.localService && !best.localService))) best = v;
    });
    return best;
  }

  /** Calls `then` with the voices once the browser knows them (some load them after the page). */
  function withVoices(then) {
    var list = synth.getVoices() || [];
    if (list.length) { then(list); return; }
    var done = false;
    var finish = function () {
      if (done) return;
      done = true;
      then(synth.getVoices() || []);
    };
    if (synth.addEventListener) synth.addEventListener('voiceschanged', finish);
    setTimeout(finish, 1500);
  }

  function stop(message) {
    reading = false;
    if (synth) synth.cancel();
    button.textContent = START;
    show(message);
  }

  function start() {
    if (!synth || typeof window.SpeechSynthesisUtterance !== 'function') { show(NO_VOICE); return; }
    show('正在准备朗读…');
    withVoices(function (voices) {
      var voice = chinese(voices);
      if (!voice) { show(NO_VOICE); return; }
      var parts = sentences();
      var slow = document.documentElement.classList.contains('elder');
      synth.cancel();
      reading = true;
      button.textContent = STOP;
      show('正在朗读，再按一次停止。');
      parts.forEach(function (text, i) {
        var u = new window.SpeechSynthesisUtterance(text);
        u.lang = 'zh-CN';
        u.voice = voice;
        u.rate = slow ? 0.8 : 0.95;
        if (i === parts.length - 1) u.onend = function () { if (reading) stop('朗读完毕。'); };
        u.onerror = function (e) {
          if (reading && e.error !== 'interrupted' && e.error !== 'canceled') stop('朗读中断，请再按一次朗读。');
        };
        synth.speak(u);
      });
    });
  }

  button.addEventListener('click', function () {
    if (reading) stop('已停止朗读。');
    else start();
  });
  window.addEventListener('pagehide', function () { if (reading && synth) synth.cancel(); });
})();
