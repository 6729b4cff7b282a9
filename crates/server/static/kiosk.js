// 触摸终端 script, loaded only on pages served to an enrolled hall terminal (the server adds it
// with the `kiosk` body class). It owns: the idle reset (countdown, then every form, storage and
// the current history entry wiped, a hall officer's session ended, and home reloaded), the
// on-screen ID keypad and name picker, the on-screen input of fields marked `data-osk`, the
// 在手机上继续 QR code of forms marked `data-continue`, the heartbeat every 30 s, the service
// worker, and the offline screen's automatic recovery.
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
    show(form.dataset.step === 'name' ? 'name' : 'id');
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

  // ---- 在手机上继续: the form's address with the options chosen so far (select boxes named in
  // data-continue-keep; never anything typed), as a QR code the villager scans with their phone.
  const continuing = document.querySelector('form[data-continue]');
  if (continuing) {
    const aside = document.createElement('aside');
    aside.className = 'kiosk-continue';
    aside.id = 'kiosk-continue';
    aside.setAttribute('aria-labelledby', 'kiosk-continue-title');
    const title = document.createElement('h2');
    title.id = 'kiosk-continue-title';
    title.textContent = '在手机上继续';
    const code = document.createElement('img');
    code.width = 240;
    code.height = 240;
    code.alt = '二维码：用手机扫一扫，在手机上打开这张表';
    const note = document.createElement('p');
    note.textContent = '用手机微信扫一扫，在自己的手机上打开这张表，可以用手机输入法或语音输入。只带过去已经选好的村和类别，'
      + '不带姓名、电话、身份证号等个人信息。';
    aside.append(title, code, note);
    continuing.after(aside);
    const update = () => {
      const url = new URL(continuing.dataset.continue, location.origin);
      for (const name of (continuing.dataset.continueKeep || '').split(' ').filter(Boolean)) {
        const field = continuing.elements.namedItem(name);
        if (field && field.tagName === 'SELECT' && field.value) url.searchParams.set(name, field.value);
      }
      const to = url.pathname + url.search;
      aside.dataset.url = to;
      code.src = `/kiosk/continue.svg?to=${encodeURIComponent(to)}`;
    };
    continuing.addEventListener('change', update);
    update();
  }

  // ---- On-screen input for fields marked data-osk (the hall has no input method): tiles of
  // common surnames, characters of given names, words and characters of short requests, digits.
  // Each tile adds its text at the end of the field; 退格 removes one character.
  const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤常康牛';
  const GIVEN = '建国华明平军文英兰秀玉芳红梅丽强伟志海林春生福德永成有山金花云霞珍凤桂荣琴燕萍静娟清新宝祥贵发财民忠学义杰斌勇刚峰波辉涛鹏飞龙虎亮东中天宏光良安全喜乐元庆兴旺丰泉顺利子小儿娃女';
  const WORDS = ['补贴', '没有', '收到', '申请', '办理', '低保', '医保', '养老', '残疾', '危房', '改造', '道路', '路灯', '维修', '坏了', '漏水',
    '停水', '停电', '土地', '耕地', '草原', '种粮', '农机', '村委会', '村干部', '证明', '户口', '身份证', '一卡通', '金额', '不对', '少了',
    '什么时候', '请问', '希望', '建议', '反映', '谢谢', '我家', '帮忙', '尽快', '处理', '今年', '去年'];
  const CHARS = '我你他的了是在有不没能要和请问吗村乡镇户家人钱元年月日号多少还给到去来说办事补贴发放领取什么时候为怎样好坏大小新旧上下';
  const PUNCTUATION = '，。？！、';
  const LAYOUTS = {
    name: [['姓', SURNAMES], ['名字常用字', GIVEN], ['数字', '0123456789']],
    text: [['常用词', WORDS], ['常用字', CHARS], ['姓', SURNAMES], ['名字常用字', GIVEN], ['数字和标点', `0123456789${PUNCTUATION}`]],
    digits: [['数字', '1234567890']],
    id: [['数字', '1234567890X']],
    code: [['数字', '1234567890'], ['字母', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ']],
  };
  const panel = document.createElement('div');
  panel.className = 'osk';
  panel.id = 'osk';
  panel.setAttribute('role', 'group');
  panel.hidden = true;
  let target = null;
  let opener = null;
  const put = (text) => {
    if (!target) return;
    const max = target.maxLength > 0 ? target.maxLength : Infinity;
    if ([...target.value].length + [...text].length > max) return;
    target.value += text;
    target.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const key = (label, action, cls) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener('click', action);
    return b;
  };
  const close = () => {
    panel.hidden = true;
    if (opener) { opener.setAttribute('aria-expanded', 'false'); opener.focus(); }
    target = null;
    opener = null;
  };
  const open = (field, button) => {
    if (target === field) { close(); return; }
    if (opener) opener.setAttribute('aria-expanded', 'false');
    target = field;
    opener = button;
    button.setAttribute('aria-expanded', 'true');
    const label = field.labels && field.labels[0] ? field.labels[0].textContent : '';
    panel.setAttribute('aria-label', `屏幕输入：${label}`);
    const tabs = document.createElement('div');
    tabs.className = 'osk-tabs';
    const keys = document.createElement('div');
    keys.className = 'osk-keys';
    const show = (items, tab) => {
      for (const t of tabs.children) t.setAttribute('aria-pressed', String(t === tab));
      const list = Array.isArray(items) ? items : [...items];
      keys.replaceChildren(...list.map((t) => key(t, () => put(t), t.length > 1 ? 'osk-word' : '')));
    };
    const layout = LAYOUTS[field.dataset.osk] || LAYOUTS.text;
    for (const [name, items] of layout) {
      const tab = key(name, () => show(items, tab), 'osk-tab');
      tabs.append(tab);
    }
    if (layout.length < 2) tabs.hidden = true;
    const controls = document.createElement('div');
    controls.className = 'osk-controls';
    const set = (value) => {
      if (!target) return;
      target.value = value;
      target.dispatchEvent(new Event('input', { bubbles: true }));
    };
    controls.append(key('⌫ 退格', () => set([...(target ? target.value : '')].slice(0, -1).join('')), 'secondary'));
    if (field.tagName === 'TEXTAREA') controls.append(key('空格', () => put(' '), 'secondary'));
    controls.append(
      key('清空', () => set(''), 'secondary'),
      key('完成', close, 'osk-done'),
    );
    panel.replaceChildren(tabs, keys, controls);
    button.after(panel);
    panel.hidden = false;
    show(layout[0][1], tabs.firstChild);
  };
  for (const field of document.querySelectorAll('input[data-osk], textarea[data-osk]')) {
    if (field.type === 'hidden') continue;
    field.setAttribute('inputmode', 'none');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'osk-open secondary';
    button.textContent = '屏幕输入';
    button.setAttribute('aria-controls', 'osk');
    button.setAttribute('aria-expanded', 'false');
    button.addEventListener('click', () => open(field, button));
    field.after(button);
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
