// Browser tests for the monitor (远程监控平台) at a projector's 1920×1080 and on a phone: the
// county's township table with its charts, drilling into 广至乡's villages and into the visits
// behind a figure, and the printable weekly summary. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';

let demo;
let base;

before(async () => {
  demo = await startDemo();
  ({ base } = demo);
});

after(async () => {
  await demo?.stop();
});

async function desktop() {
  const context = await demo.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
  return context.newPage();
}

async function login(page, username) {
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
}

test('the county sees every township with charts and drills into a township and its visits', async () => {
  const page = await desktop();
  await login(page, 'jiwei');
  await page.getByRole('link', { name: '远程监控', exact: true }).click();
  await page.waitForURL(/\/staff\/monitor$/);
  const rows = page.locator('#figures tbody tr');
  assert.ok((await rows.count()) >= 10, 'one row per township and the total');
  const guangzhi = rows.filter({ hasText: '广至藏族乡' });
  assert.match(await guangzhi.innerText(), /16717/, '广至乡 echoes the reported 16,717 visits');
  assert.equal(await page.locator('svg.chart').count(), 2, 'a trend line and bars by township');
  await page.screenshot({ path: join(shots, 'monitor-county.png'), fullPage: true });

  await guangzhi.getByRole('link', { name: '广至藏族乡' }).click();
  await page.waitForURL(new RegExp(`/staff/monitor/townships/${GUANGZHI}$`));
  assert.ok((await page.locator('#figures tbody tr').count()) >= 2, 'villages and the total');
  await page.screenshot({ path: join(shots, 'monitor-township.png'), fullPage: true });

  await page.locator('#figures tbody tr').first().locator('td').first().getByRole('link').click();
  await page.waitForURL(/\/visits$/);
  await assert.doesNotReject(page.locator('#drill').waitFor());
  assert.match(await page.locator('h2').innerText(), /共\d+条/);
  await page.screenshot({ path: join(shots, 'monitor-drill.png'), fullPage: true });
  await page.context().close();
});

test('the weekly summary prints on paper without the navigation', async () => {
  const page = await desktop();
  await login(page, 'guangzhi');
  await page.goto(`${base}/staff/monitor/weekly/${GUANGZHI}`);
  await assert.doesNotReject(page.getByRole('heading', { name: /运行周报/ }).waitFor());
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('nav.filters').first().isVisible(), false, 'print hides the links');
  await page.screenshot({ path: join(shots, 'monitor-weekly-print.png'), fullPage: true });
  await page.context().close();
});

test('on a phone the table scrolls inside its box, not the page', async () => {
  const page = await demo.phone();
  await login(page, 'guangzhi');
  await page.goto(`${base}/staff/monitor/townships/${GUANGZHI}`);
  await assert.doesNotReject(page.locator('#figures').waitFor());
  assert.equal(await overflows(page), false, 'no horizontal scrolling on a phone');
  await page.screenshot({ path: join(shots, 'monitor-phone.png'), fullPage: true });
  await page.context().close();
});
