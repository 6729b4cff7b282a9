// Browser tests on a 375×812 phone for 四张清单 on a power item, 办事直通车 on 我要办事, search
// over services (高龄补贴申领, 异地就医, 草原补助), 办件公开 with its filters and pages, and the
// printable 关注海报; on a 1080×1920 hall terminal, 办事直通车 as QR codes instead of links out;
// in the back office, the per-department table and coverage on the monitor. Starts its own
// `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';
const ZHUOYUAN = '620922214200';

let demo;
let base;
let enrolPath;

before(async () => {
  demo = await startDemo();
  ({ base } = demo);
  const enrol = demo.output.match(/触摸终端登记链接（一次性，[^）]+）：(\/kiosk\/enrol\/[0-9a-f]{64})/);
  assert.ok(enrol, `the demo prints a terminal's enrolment link:\n${demo.output}`);
  enrolPath = enrol[1];
  assert.match(demo.output, /个办事直通车链接/);
  assert.match(demo.output, /户已绑定/);
});

after(async () => {
  await demo?.stop();
});

async function phone() {
  const context = await demo.browser.newContext({
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  return context.newPage();
}

test('a power item shows its duties per step and its accountability with the basis', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/powers`);
  await page.getByRole('link', { name: /村级工程项目招投标/ }).first().click();
  await page.getByRole('heading', { name: '责任清单' }).waitFor();
  const duties = await page.locator('ol.duties li').allInnerTexts();
  assert.ok(duties.length >= 5, `one duty per step and the responsible person: ${duties.length}`);
  assert.match(duties[0], /第1步/);
  const accountability = await page.locator('ol.accountability li').allInnerTexts();
  assert.ok(accountability.some((a) => /围标串标/.test(a) && /招标投标法/.test(a)), accountability.join('\n'));
  assert.ok(accountability.every((a) => /依据：《/.test(a)), 'every measure names its basis');
  assert.equal(await overflows(page), false, 'the lists do not scroll sideways');
  await page.locator('#duties').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'lists-power-item.png'), fullPage: true });
  await page.context().close();
});

test('我要办事 shows 办事直通车 tiles that leave the site, without QR codes on a phone', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/services`);
  await page.getByRole('heading', { name: '办事直通车' }).waitFor();
  const tiles = page.locator('a.link-tile');
  assert.ok((await tiles.count()) >= 6, 'the county tiles and the township own');
  assert.equal(await tiles.filter({ hasText: '国家医保服务平台' }).getAttribute('href'), 'https://fuwu.nhsa.gov.cn/');
  await assert.doesNotReject(tiles.filter({ hasText: '甘肃农业农村' }).waitFor());
  assert.equal(await page.locator('.link-qr').first().isVisible(), false, 'no QR code on a phone');
  assert.equal(await overflows(page), false, 'the tiles do not scroll sideways');
  await page.screenshot({ path: join(shots, 'lists-services-links.png'), fullPage: false });
  await page.goto(`${base}/t/620922100/services`);
  assert.equal(await page.locator('a.link-tile', { hasText: '甘肃农业农村' }).count(), 0, 'a township tile stays home');
  await page.context().close();
});

test('search finds the services the seed asks for', async () => {
  const page = await phone();
  for (const q of ['高龄补贴申领', '异地就医', '草原补助']) {
    await page.goto(`${base}/t/${GUANGZHI}/search?q=${encodeURIComponent(q)}`);
    const results = await page.locator('ul.results li').allInnerTexts();
    assert.ok(results.some((r) => r.startsWith('我要办事')), `${q} finds a service:\n${results.join('\n')}`);
  }
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'lists-search-grassland.png'), fullPage: true });
  await page.locator('ul.results li', { hasText: '我要办事' }).locator('a').first().click();
  await page.getByRole('heading', { name: /草原补助/ }).waitFor();
  await page.context().close();
});

test('办件公开 lists cases and messages without names, filters by place and pages', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}`);
  await page.getByRole('link', { name: /办件公开/ }).click();
  await page.getByRole('heading', { name: '办件公开' }).waitFor();
  const rows = page.locator('#board li');
  assert.ok((await rows.count()) > 0, 'the demo cases and messages show');
  const listed = await page.locator('#board').innerText();
  assert.doesNotMatch(listed, /举报|1[3-9]\d{9}|BJ\d{14}|LY\d{14}/, 'no report, phone or tracking number');
  const text = await page.locator('main').innerText();
  assert.match(text, /各部门满意率/);
  assert.match(text, /各乡镇满意率/);
  assert.equal(await overflows(page), false, 'the board does not scroll sideways');
  await page.screenshot({ path: join(shots, 'lists-board.png'), fullPage: true });
  await page.getByLabel('村（社区）').selectOption(ZHUOYUAN);
  await page.getByLabel('类别').selectOption('case');
  await page.getByRole('button', { name: '筛选' }).click();
  await page.waitForURL(/kind=case/);
  const kinds = await page.locator('#board .tag').allInnerTexts();
  assert.ok(kinds.length > 0 && kinds.every((k) => k === '办件'), kinds.join(','));
  const places = await page.locator('#board li .muted').allInnerTexts();
  assert.ok(places.every((p) => p.startsWith('卓园村')), places.join(','));
  await page.context().close();
});

test('the follow poster prints on one page without the site around it', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/poster`);
  await page.locator('#poster svg').waitFor();
  await page.getByRole('link', { name: /卓园村/ }).click();
  await page.locator('#poster').getByText('卓园村').first().waitFor();
  assert.equal(await overflows(page), false);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.top').isVisible(), false, 'the header is not printed');
  assert.equal(await page.locator('.no-print').first().isVisible(), false);
  await page.screenshot({ path: join(shots, 'lists-poster-print.png'), fullPage: true });
  await page.context().close();
});

test('on a hall terminal 办事直通车 shows QR codes and the lists show on the item', async () => {
  const page = await demo.screen(1080, 1920);
  await page.goto(base + enrolPath);
  await page.waitForURL(/\/kiosk/);
  await page.goto(`${base}/t/${GUANGZHI}/services`);
  await page.getByRole('heading', { name: '办事直通车' }).waitFor();
  assert.equal(await page.locator('body').getAttribute('class'), 'kiosk');
  const qr = page.locator('.link-qr img').first();
  await qr.scrollIntoViewIfNeeded();
  await assert.doesNotReject(qr.waitFor({ state: 'visible' }));
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code loads');
  assert.equal(
    await page.locator('a.link-tile').first().evaluate((a) => getComputedStyle(a).pointerEvents),
    'none',
    'a tile does not leave the terminal',
  );
  await page.screenshot({ path: join(shots, 'lists-kiosk-links.png') });
  await page.goto(`${base}/t/${GUANGZHI}/powers`);
  await page.getByRole('link', { name: /村级工程项目招投标/ }).first().click();
  await page.getByRole('heading', { name: '追责清单' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'lists-kiosk-power-item.png') });
  await page.context().close();
});

test('the monitor shows coverage and a table per department', async () => {
  const page = await demo.phone();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/staff/login`);
  await page.getByLabel('用户名').fill('jiwei');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(`${base}/staff`);
  await page.goto(`${base}/staff/monitor`);
  const guangzhi = page.locator('#figures tr', { hasText: '广至藏族乡' });
  const coverage = await guangzhi.locator('td[data-label="户覆盖"]').innerText();
  assert.match(coverage, /[1-9]\d*\.\d%/, `广至 coverage shows: ${coverage}`);
  const departments = page.locator('#departments tbody tr');
  assert.ok((await departments.count()) > 5, 'every department has a row');
  await assert.doesNotReject(page.locator('#departments', { hasText: '样本' }).waitFor());
  await page.locator('#departments').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'lists-monitor-departments.png') });
  await page.context().close();
});
