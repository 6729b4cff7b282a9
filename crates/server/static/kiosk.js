// 触摸终端 script, loaded only on pages served to an enrolled hall terminal (the server adds it
// with the `kiosk` body class). It owns: the idle reset (countdown, then every form, storage and
// the current history entry wiped, a hall officer's session ended, and home reloaded), the on-screen ID keypad and name picker,
// the heartbeat every 30 s, the service worker, and the offline screen's automatic recovery.
(() => {
  'use strict';
  const body = document.body;
  if (!body || !body.classList.contains('kiosk')) return;
  const idle = Number(body.dataset.kioskIdle) || 60;
  const countdown = Number(body.dataset.kioskCountdown) || 15;
  const csrf = body.dataset.kioskCsrfToken || '';
  const version = body.dataset.kioskVersion || '0';
  const isHome = location.pathname === '/kiosk';
  const isPrivate = body.dataset.kioskPrivate === '1';
  const hasStaff = body.dataset.kioskStaff === '1';
  const ERROR_KEY = 'xw-kiosk-last-error';

  // ---- Last script error, reported with the heartbeat (never personal data: message only).
  window.addEventListener('error', (e) => {
    try { localStorage.setItem(ERROR_KEY, String(e.message || 'error').slice(0, 300)); } catch (_) { /* storage full or off */ }
  });

  // ---- Idle reset.
  /** Wipes everything a villager typed or was shown, then reloads the home screen in place. */
  const wipe = () => {
    for (const form of document.forms) form.reset();
    for (const input of document.querySelectorAll('input, textarea')) {
      if (input.type !== 'hidden') input.value = '';
    }
    // The next villager starts in the terminal's default 长辈模式, whatever the last one chose.
    document.cookie = 'xw_elder=; Path=/; Max-Age=0; SameSite=Lax';
    try { sessionStorage.clear(); } catch (_) { /* unavailable */ }
    try {
      const error = localStorage.getItem(ERROR_KEY);
      localStorage.clear();
      if (error) localStorage.setItem(ERROR_KEY, error);
    } catch (_) { /* unavailable */ }
    const main = document.querySelector('main');
    if (main) main.replaceChildren();
    history.replaceState(null, '', '/kiosk');
    // A hall officer who walked away is logged out before the next villager comes.
    const leave = hasStaff
      ? fetch('/staff/logout', { method: 'POST', headers: { 'x-csrf-token': csrf }, keepalive: true }).catch(() => null)
      : Promise.resolve();
    // A phone proven by SMS code is forgotten too: the next villager must prove their own.
    const forget = fetch('/phone/forget', { method: 'POST', headers: { 'x-csrf-token': csrf }, keepalive: true })
      .catch(() => null);
    Promise.all([leave, forget]).then(() => location.replace('/kiosk'));
  };

  let overlay = null;
  let lastTouch = Date.now();
  const showCountdown = (left) => {
    if (!overlay) {
      overlay = document.createElement('div');
      overlay.className = 'kiosk-overlay';
      overlay.id = 'kiosk-countdown';
      overlay.setAttribute('role', 'alertdialog');
      overlay.setAttribute('aria-labelledby', 'kiosk-countdown-text');
      const box = document.createElement('div');
      const text = document.createElement('p');
      text.id = 'kiosk-countdown-text';
      const more = document.createElement('button');
      more.type = 'button';
      more.textContent = '继续使用';
      more.addEventListener('click', () => touched());
      box.append(text, more);
      overlay.append(box);
      body.append(overlay);
    }
    overlay.querySelector('p').textContent = `${left} 秒后返回首页，并清除您输入和查询的信息`;
  };
  const touched = () => {
    lastTouch = Date.now();
    if (overlay) { overlay.remove(); overlay = null; }
  };
  for (const type of ['pointerdown', 'touchstart', 'keydown', 'wheel']) {
    window.addEventListener(type, touched, { capture: true, passive: true });
  }
  if (!isHome || hasStaff) {
    setInterval(() => {
      // Reading a page aloud (listen.js) is use: the terminal does not reset while it speaks.
      if (window.speechSynthesis && window.speechSynthesis.speaking) lastTouch = Date.now();
      const quiet = (Date.now() - lastTouch) / 1000;
      if (quiet >= idle) wipe();
      else if (quiet >= idle - countdown) showCountdown(Math.ceil(idle - quiet));
    }, 250);
  }
  // A page restored from the back-forward cache must not show what was typed before.
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) for (const form of document.forms) form.reset();
  });

  // ---- Links out of a private answer (e.g. a self-query result) replace it in the history.
  if (isPrivate) {
    document.addEventListener('click', (e) => {
      const link = e.target.closest && e.target.closest('a[href]');
      if (!link || link.target || link.origin !== location.origin) return;
      e.preventDefault();
      location.replace(link.href);
    });
  }

  // ---- Bar: home and back.
  const back = document.querySelector('.kiosk-back');
  if (back && !isHome && !isPrivate) {
    back.hidden = false;
    back.addEventListener('click', () => history.back());
  }

  // ---- On-screen keypad and name picker (self-query).
  const form = document.getElementById('kiosk-query');
  if (form) {
    const id = document.getElementById('id_number');
    const name = document.getElementById('name');
    const stepId = document.getElementById('step-id');
    const stepName = document.getElementById('step-name');
    const idError = document.getElementById('id-error');
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const checks = '10X98765432';
    const idValid = (v) => {
      if (!/^\d{17}[\dX]$/.test(v)) return false;
      let sum = 0;
      for (let i = 0; i < 17; i++) sum += Number(v[i]) * weights[i];
      return checks[sum % 11] === v[17];
    };
    const show = (step) => {
      stepId.hidden = step !== 'id';
      stepName.hidden = step !== 'name';
    };
    show('id');
    for (const key of stepId.querySelectorAll('[data-key]')) {
      key.addEventListener('click', () => {
        const k = key.dataset.key;
        if (k === 'back') id.value = id.value.slice(0, -1);
        else if (k === 'clear') id.value = '';
        else if (id.value.length < 18) id.value += k;
        idError.hidden = true;
      });
    }
    document.getElementById('to-name').addEventListener('click', () => {
      const v = id.value.trim().toUpperCase();
      if (v.length !== 18) {
        idError.textContent = `身份证号应为18位，现在是${v.length}位`;
        idError.hidden = false;
      } else if (!idValid(v)) {
        idError.textContent = '身份证号有误，请核对后重新输入';
        idError.hidden = false;
      } else {
        show('name');
      }
    });
    document.getElementById('to-id').addEventListener('click', () => show('id'));
    for (const surname of form.querySelectorAll('[data-surname]')) {
      surname.addEventListener('click', () => {
        for (const list of form.querySelectorAll('[data-names]')) list.hidden = list.dataset.names !== surname.dataset.surname;
        for (const other of form.querySelectorAll('[data-surname]')) other.classList.toggle('chosen', other === surname);
      });
    }
    for (const choice of form.querySelectorAll('[data-name]')) {
      choice.addEventListener('click', () => {
        name.value = choice.dataset.name;
        for (const other of form.querySelectorAll('[data-name]')) other.classList.toggle('chosen', other === choice);
      });
    }
    // Leaving the page (or the browser keeping it) must not keep the ID in the form.
    window.addEventListener('pagehide', () => { id.value = ''; name.value = ''; });
  }

  // ---- Heartbeat.
  const beat = () => {
    let lastError = '';
    try { lastError = localStorage.getItem(ERROR_KEY) || ''; } catch (_) { /* unavailable */ }
    fetch('/kiosk/heartbeat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify({ version, screen: `${screen.width}x${screen.height}`, last_error: lastError }),
      cache: 'no-store',
    }).then((r) => {
      if (r.ok) try { localStorage.removeItem(ERROR_KEY); } catch (_) { /* unavailable */ }
    }).catch(() => { /* offline: the next beat tries again */ });
  };
  beat();
  setInterval(beat, 30_000);

  // ---- Offline screen and recovery.
  let banner = null;
  let probing = null;
  const probe = () => {
    if (probing) return;
    probing = setInterval(() => {
      fetch(`/healthz?t=${Date.now()}`, { cache: 'no-store' }).then((r) => {
        if (!r.ok) return;
        clearInterval(probing);
        probing = null;
        if (banner) { banner.remove(); banner = null; }
        if (document.getElementById('kiosk-offline')) location.reload();
      }).catch(() => { /* still offline */ });
    }, 3000);
  };
  window.addEventListener('offline', () => {
    if (!banner && !document.getElementById('kiosk-offline')) {
      banner = document.createElement('div');
      banner.className = 'kiosk-banner';
      banner.setAttribute('role', 'status');
      banner.textContent = '离线：网络已断开，正在重新连接…';
      body.prepend(banner);
    }
    probe();
  });
  window.addEventListener('online', probe);
  if (document.getElementById('kiosk-offline')) probe();

  // ---- Service worker: keeps the public pages shown here viewable offline.
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/kiosk-sw.js', { scope: '/' }).catch(() => { /* not supported here */ });
  }
})();
