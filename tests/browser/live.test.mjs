// Browser tests for the monitoring platform's live overview and alerts: the commission (jiwei)
// keeps 实时监控 open while a villager applies from a phone in another browser context, and the new
// case must appear on the dashboard within 2 seconds (Server-Sent Events); the big screen (大屏)
// fits 1920×1080 without scrolling; the alerts list, an alert's evidence link and its handling
// (look, then resolve with a note and a confirmation).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, provePhone } from './demo.mjs';

let demo;
let base;
let browser;
let phone;

before(async () => {
  demo = await startDemo();
  ({ base, browser, phone } = demo);
});

after(async () => {
  await demo?.stop();
});

async function staffPage(width, height) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill('jiwei');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(/\/staff$/);
  return page;
}

test('a case filed from a phone appears on the open dashboard within 2 seconds', async (t) => {
  const dashboard = await staffPage(1366, 900);
  await dashboard.goto(base + '/staff/live');
  await dashboard.locator('#live-state', { hasText: '实时更新中' }).waitFor({ timeout: 10_000 });
  const before = Number(await dashboard.locator('[data-live="open_cases"]').first().textContent());
  assert.ok(Number.isInteger(before));

  const villager = await phone();
  await villager.goto(base + '/t/620922214/services');
  await villager.getByLabel('查找事项').fill('临时救助');
  await villager.getByRole('button', { name: '查找' }).click();
  await villager.getByRole('link', { name: /临时救助申请/ }).click();
  await villager.getByRole('link', { name: '在线申请' }).click();
  await provePhone(villager, '13912345679');
  await villager.getByLabel('申请人姓名').fill('马玉兰');
  await villager.getByLabel('所在村（社区）').selectOption({ label: '卓园村' });
  if (await villager.getByLabel(/身份证号/).count()) {
    await villager.getByLabel(/身份证号/).fill('620922194501011236');
  }
  await villager.getByLabel('需求描述').fill('家里房屋漏雨，申请临时救助。');
  await villager.getByRole('button', { name: '提交申请' }).click();
  await villager.waitForURL(/\/cases\/BJ\d{14}\?k=/);
  const filed = Date.now();

  await dashboard.waitForFunction(
    (n) => Number(document.querySelector('[data-live="open_cases"]').textContent) === n,
    before + 1,
    { timeout: 2_000, polling: 50 },
  );
  const first = await dashboard.locator('#live-arrivals li').first().textContent();
  const elapsed = Date.now() - filed;
  assert.ok(elapsed < 2_000, `the dashboard took ${elapsed} ms`);
  t.diagnostic(`the new case reached the dashboard ${elapsed} ms after the phone saw its tracking page`);
  assert.match(first, /临时救助申请/);
  assert.match(first, /广至藏族乡 卓园村/);
  assert.doesNotMatch(await dashboard.locator('main').textContent(), /马玉兰|13912345679/, 'no personal data');
  await dashboard.screenshot({ path: join(shots, 'live.png'), fullPage: true });
});

test('the big screen fits 1920×1080 with huge numbers and no navigation', async () => {
  const screen = await staffPage(1920, 1080);
  await screen.goto(base + '/staff/live/screen');
  await screen.locator('#live-state', { hasText: '实时更新中' }).waitFor({ timeout: 10_000 });
  assert.equal(await screen.locator('nav').count(), 0, 'no navigation on the wall');
  const size = await screen.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    number: parseFloat(getComputedStyle(document.querySelector('[data-live="open_cases"]')).fontSize),
  }));
  assert.ok(size.width <= 1920 && size.height <= 1080, `the screen scrolls: ${JSON.stringify(size)}`);
  assert.ok(size.number >= 64, `numbers readable across the room: ${size.number}px`);
  await screen.screenshot({ path: join(shots, 'live-screen.png') });
});

test('the commission opens an alert, follows its evidence and resolves it with a note', async () => {
  const page = await staffPage(1366, 900);
  await page.goto(base + '/staff/alerts');
  const main = await page.locator('main').textContent();
  assert.match(main, /各乡镇预警/);
  assert.match(main, /群众不满意/);
  await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: false });
  await page.locator('nav.filters').getByRole('link', { name: '群众不满意' }).click();
  await page.waitForURL(/kind=unsatisfied/);
  await page.locator('#alerts tbody a').first().click();
  await page.waitForURL(/\/staff\/alerts\/\d+$/);
  const alertUrl = page.url();
  const evidence = await page.locator('#evidence').getAttribute('href');
  assert.match(evidence, /^\/staff\/((cases|inbox)\/(BJ|LY)\d{14}|objections#objection-\d+)$/);
  await page.getByRole('button', { name: '标记为已查看' }).click();
  await page.waitForURL(/done=looked/);
  assert.match(await page.locator('#alert-status').textContent(), /已查看/);
  await page.getByLabel(/处置说明/).fill('已约谈承办人，群众反映的问题当周解决。');
  await page.getByLabel(/我已核实证据/).check();
  await page.getByRole('button', { name: '处置完毕' }).click();
  await page.waitForURL(/done=resolved/);
  assert.match(await page.locator('#alert-status').textContent(), /已处置/);
  assert.match(await page.locator('#alert-note').textContent(), /已约谈承办人/);
  await page.screenshot({ path: join(shots, 'alert.png'), fullPage: true });
  await page.goto(base + evidence);
  assert.match(await page.locator('main').textContent(), /不满意/);
  await page.goto(alertUrl);
  assert.equal(await page.getByRole('button', { name: '处置完毕' }).count(), 0);
});
