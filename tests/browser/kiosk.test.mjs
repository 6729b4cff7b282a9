// Browser tests for the 触摸终端 on a 1080×1920 portrait and a 1920×1080 landscape touch screen:
// the county admin registers a terminal (idle time 15 s) and the terminal opens the one-time
// enrolment link; its heartbeat shows it 在线 on the staff list; a villager picks the village,
// types the ID on the on-screen keypad and picks the name; after 15 s without a touch the
// countdown appears and the terminal returns home with nothing personal left in the page or
// the history; offline, a page seen before still shows, self-query shows the offline screen,
// and the terminal recovers by itself when the network is back. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots } from './demo.mjs';

const GUANGZHI = '620922214';
const IDLE = 15;

let demo;
let base;
let seedId;

before(async () => {
  demo = await startDemo();
  ({ base } = demo);
  const seed = demo.output.match(/自助查询示例：马玉兰 (\d{17}[\dX])/);
  assert.ok(seed, `the demo prints the seed villager's ID:\n${demo.output}`);
  seedId = seed[1];
  assert.match(demo.output, /触摸终端登记链接（一次性，广至藏族乡便民服务大厅1号机）：\/kiosk\/enrol\/[0-9a-f]{64}/);
});

after(async () => {
  await demo?.stop();
});

async function adminPage() {
  const page = await demo.phone();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/staff/login`);
  await page.getByLabel('用户名').fill('admin');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(`${base}/staff`);
  return page;
}

/** Registers a terminal for 广至藏族乡 on the staff page and returns its enrolment URL, made absolute. */
async function register(admin, name, tag) {
  await admin.goto(`${base}/staff/kiosks`);
  await admin.getByLabel('乡镇').selectOption(GUANGZHI);
  await admin.getByLabel('终端名称').fill(name);
  await admin.getByLabel(/无操作返回首页/).fill(String(IDLE));
  await admin.getByRole('button', { name: '新建并生成登记链接' }).click();
  const url = (await admin.locator('#enrol-url').textContent()).trim();
  assert.match(url, /\/kiosk\/enrol\/[0-9a-f]{64}$/);
  await admin.screenshot({ path: join(shots, `kiosk-${tag}-staff-enrolment.png`), fullPage: true });
  // Without public_url the page shows the path only (never a link built from the Host header).
  return new URL(url, base).href;
}

/** Everything personal the page could still hold: markup, field values, storage. */
async function leftovers(page) {
  return page.evaluate(() => ({
    html: document.documentElement.outerHTML,
    values: [...document.querySelectorAll('input:not([type=hidden]), textarea')].map((i) => i.value).join(''),
    storage: sessionStorage.length + Object.keys(localStorage).filter((k) => k !== 'xw-kiosk-last-error').length,
    url: location.pathname,
  }));
}

/** The smallest height among the page's touch targets in `selector`. */
async function smallestTarget(page, selector) {
  return page.evaluate((s) => Math.min(...[...document.querySelectorAll(s)]
    .filter((e) => e.offsetParent !== null)
    .map((e) => e.getBoundingClientRect().height)), selector);
}

for (const [width, height] of [[1080, 1920], [1920, 1080]]) {
  const tag = `${width}x${height}`;
  test(`a terminal at ${tag}: enrolment, heartbeat, keypad self-query, idle reset, offline`, async () => {
    const admin = await adminPage();
    const enrolUrl = await register(admin, `大厅${tag}`, tag);
    const kiosk = await demo.screen(width, height);
    const errors = [];
    kiosk.on('pageerror', (e) => errors.push(String(e)));

    // Enrolment: the link sets the device cookie and opens the home screen.
    await kiosk.goto(enrolUrl);
    await kiosk.waitForURL(`${base}/kiosk`);
    await kiosk.getByRole('heading', { name: '广至藏族乡 民生监督' }).waitFor();
    const tiles = await kiosk.locator('#kiosk-menu a').allTextContents();
    assert.equal(tiles.length, 6, tiles.join());
    assert.ok(await smallestTarget(kiosk, '#kiosk-menu a, .kiosk-bar a') >= 64, 'touch targets of 64 px at least');
    await kiosk.evaluate(() => navigator.serviceWorker.ready);
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-home.png`) });
    const second = await demo.screen(width, height);
    await second.goto(enrolUrl);
    assert.match(await second.locator('main').innerText(), /该登记链接已使用过/);
    await second.context().close();

    // Heartbeat: the staff list shows the terminal online with its screen.
    await admin.goto(`${base}/staff/kiosks`);
    const row = admin.locator('#kiosks tr', { hasText: `大厅${tag}` });
    for (let i = 0; i < 20 && !(await row.innerText()).includes('在线'); i++) {
      await admin.waitForTimeout(500);
      await admin.reload();
    }
    const rowText = await row.innerText();
    assert.match(rowText, /在线/);
    assert.ok(rowText.includes(tag), rowText);
    await admin.screenshot({ path: join(shots, `kiosk-${tag}-staff-list.png`), fullPage: true });

    // Self-query with the on-screen keypad and the name picker.
    await kiosk.locator('#kiosk-menu a', { hasText: '自助查询' }).click();
    await kiosk.locator('#villages a', { hasText: '卓园村' }).click();
    await kiosk.getByRole('heading', { name: '第二步：输入身份证号' }).waitFor();
    assert.ok(await smallestTarget(kiosk, '.keypad button, .kiosk-actions button') >= 64);
    for (const c of seedId) await kiosk.locator(`.keypad [data-key="${c}"]`).click();
    await kiosk.locator('.keypad [data-key="back"]').click();
    await kiosk.locator(`.keypad [data-key="${seedId.at(-1)}"]`).click();
    assert.equal(await kiosk.locator('#id_number').inputValue(), seedId);
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-keypad.png`) });
    await kiosk.getByRole('button', { name: '下一步' }).click();
    await kiosk.locator('[data-surname="马"]').click();
    await kiosk.locator('[data-name="马玉兰"]').click();
    assert.equal(await kiosk.locator('#name').inputValue(), '马玉兰');
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-name.png`) });
    await kiosk.getByRole('button', { name: '查询' }).click();
    await kiosk.getByRole('heading', { name: '马玉兰 的补贴记录' }).waitFor();
    const masked = `${seedId.slice(0, 6)}********${seedId.slice(14)}`;
    const result = await kiosk.locator('main').innerText();
    assert.ok(result.includes(masked) && result.includes('未见发放记录'), result);
    assert.ok(!(await kiosk.content()).includes(seedId), 'the full ID is not in the page');
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-result.png`) });

    // Idle reset: a countdown first, then home with nothing personal left.
    await kiosk.locator('#kiosk-countdown').waitFor({ timeout: (IDLE + 5) * 1000 });
    assert.match(await kiosk.locator('#kiosk-countdown').innerText(), /秒后返回首页/);
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-countdown.png`) });
    await kiosk.waitForURL(`${base}/kiosk`, { timeout: 15_000 });
    await kiosk.getByRole('heading', { name: '广至藏族乡 民生监督' }).waitFor();
    const home = await leftovers(kiosk);
    for (const secret of ['马玉兰', seedId, masked, '补贴记录']) assert.ok(!home.html.includes(secret), `home holds ${secret}`);
    assert.equal(home.values + home.storage, '0');
    // Back through the whole history: no entry shows the answer or the typed ID again. (The
    // name picker lists the village's published roster names, which are public anyway.)
    const visited = [];
    for (let i = 0; i < 8; i++) {
      const moved = await kiosk.goBack().catch(() => null);
      if (!moved) break;
      const seen = await leftovers(kiosk);
      visited.push(seen.url);
      for (const secret of [seedId, masked, '补贴记录']) assert.ok(!seen.html.includes(secret), `${seen.url} holds ${secret}`);
      assert.equal(seen.values, '', `${seen.url} keeps typed values`);
    }
    assert.ok(visited.length >= 2, `the history was walked back: ${visited.join()}`);
    await kiosk.goto(`${base}/kiosk`);

    // Offline: a public page seen before still shows; self-query shows the offline screen; the
    // terminal recovers by itself.
    if (!(await kiosk.evaluate(() => Boolean(navigator.serviceWorker.controller)))) await kiosk.reload();
    await kiosk.locator('#kiosk-menu a', { hasText: '惠农资金' }).click();
    await kiosk.getByRole('heading', { name: /^惠农资金/ }).waitFor();
    await kiosk.locator('.kiosk-bar a.kiosk-home').click();
    await kiosk.waitForURL(`${base}/kiosk`);
    await kiosk.context().setOffline(true);
    await kiosk.locator('#kiosk-menu a', { hasText: '惠农资金' }).click();
    await kiosk.getByRole('heading', { name: /^惠农资金/ }).waitFor();
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-offline-cached.png`) });
    await kiosk.locator('.kiosk-bar a.kiosk-home').click();
    await kiosk.locator('#kiosk-menu a', { hasText: '自助查询' }).click();
    await kiosk.locator('#kiosk-offline').waitFor();
    assert.match(await kiosk.locator('#kiosk-offline').innerText(), /离线.*正在重新连接/s);
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-offline.png`) });
    await kiosk.context().setOffline(false);
    await kiosk.locator('#villages').waitFor({ timeout: 15_000 });
    assert.equal(new URL(kiosk.url()).pathname, '/kiosk/self-query');
    await kiosk.screenshot({ path: join(shots, `kiosk-${tag}-recovered.png`) });

    assert.deepEqual(errors, [], 'no script errors');
    await kiosk.context().close();
    await admin.context().close();
  });
}

test('a hall officer files an application on a villager\'s behalf (代办) and is logged out when idle', async () => {
  const admin = await adminPage();
  const enrolUrl = await register(admin, '代办大厅', 'proxy');
  await admin.context().close();
  const kiosk = await demo.screen(1080, 1920);
  await kiosk.goto(enrolUrl);
  await kiosk.waitForURL(`${base}/kiosk`);
  await kiosk.goto(`${base}/staff/login`);
  await kiosk.getByLabel('用户名').fill('guangzhi');
  await kiosk.getByLabel('密码').fill('xiaowei2026');
  await kiosk.getByRole('button', { name: '登录' }).click();
  await kiosk.waitForURL(`${base}/staff`);
  await kiosk.locator('.kiosk-bar a.kiosk-home').click();
  assert.match(await kiosk.locator('.kiosk-staff').innerText(), /代办中：广至乡管理员/);
  await kiosk.locator('#kiosk-menu a', { hasText: '我要办事' }).click();
  await kiosk.getByLabel('查找事项').fill('高龄');
  await kiosk.getByRole('button', { name: '查找' }).click();
  await kiosk.getByRole('link', { name: /高龄补贴申领/ }).click();
  await kiosk.getByRole('link', { name: '在线申请' }).click();
  assert.match(await kiosk.locator('#proxy').innerText(), /代办：工作人员 广至乡管理员/);
  await kiosk.getByLabel('申请人姓名').fill('马玉兰');
  await kiosk.getByLabel(/^手机号/).fill('13912345678');
  await kiosk.getByLabel('所在村（社区）').selectOption({ label: '卓园村' });
  await kiosk.getByLabel(/身份证号/).fill(seedId);
  await kiosk.getByLabel('需求描述').fill('老人不会用手机，由大厅工作人员代办高龄补贴申请。');
  await kiosk.screenshot({ path: join(shots, 'kiosk-proxy-apply.png'), fullPage: true });
  await kiosk.getByRole('button', { name: '提交申请' }).click();
  await kiosk.waitForURL(/\/cases\/BJ\d+/);
  const tracking = new URL(kiosk.url()).pathname.split('/').pop();
  await kiosk.goto(`${base}/staff/cases/${tracking}`);
  assert.match(await kiosk.locator('main').innerText(), /代办：广至乡管理员/);
  await kiosk.screenshot({ path: join(shots, 'kiosk-proxy-case.png'), fullPage: true });
  // Walking away: the idle reset ends the officer's session too.
  await kiosk.waitForURL(`${base}/kiosk`, { timeout: (IDLE + 10) * 1000 });
  // Asked outside the page, whose own idle timer would navigate it again on a slow machine.
  let location = '';
  for (let i = 0; i < 20 && !location.includes('/staff/login'); i++) {
    const answer = await kiosk.context().request.get(`${base}/staff`, { maxRedirects: 0 });
    location = answer.headers()['location'] ?? '';
    if (!location.includes('/staff/login')) await kiosk.waitForTimeout(500);
  }
  assert.match(location, /\/staff\/login/, 'the officer is logged out');
  await kiosk.context().close();
});
