// Browser test of one objection's life on a small phone (375×667): a villager objects on the
// public roster page in publicity and gets a tracking code and a reply deadline; the township
// reviewer of 广至藏族乡 (guangzhi-shenhe) answers it; the villager looks it up by the code and
// rates the answer. Starts its own `xiaowei demo`, whose roster in publicity it reads from what
// the demo prints.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let rosterPath;
let code;

/** A fresh page in a 375×667 phone context. */
async function smallPhone() {
  const context = await demo.browser.newContext({
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  return context.newPage();
}

before(async () => {
  demo = await startDemo();
  ({ base } = demo);
  const match = demo.output.match(/公示期内的拟发放名单（含异议）：(\/rosters\/\d+)/);
  assert.ok(match, `the demo prints the roster in publicity:\n${demo.output}`);
  rosterPath = match[1];
});

after(async () => {
  await demo?.stop();
});

test('a villager objects on the roster page and gets a code and a deadline', async () => {
  const page = await smallPhone();
  await page.goto(base + rosterPath);
  assert.match(await page.locator('main').innerText(), /已收到异议 3 件/, 'the demo objections are counted');
  await page.getByRole('link', { name: '对此有异议' }).click();
  await page.getByRole('heading', { name: '对此有异议' }).waitFor();
  await page.getByLabel('您的姓名').fill('马玉兰');
  await page.getByLabel(/手机号/).fill('13900004321');
  await page.getByLabel('异议内容').fill('名单里的王建军户口已迁往酒泉，今年不应再领耕地补贴。');
  assert.equal(await overflows(page), false, 'the form fits the phone');
  await page.getByRole('button', { name: '提交' }).click();
  await page.getByRole('heading', { name: '异议处理进展' }).waitFor();
  code = (await page.locator('#code').innerText()).trim();
  assert.match(code, /^[A-Z2-9]{8}$/);
  assert.equal((await page.locator('#status').innerText()).trim(), '待处理');
  const main = await page.locator('main').innerText();
  assert.match(main, /答复期限：\d{4}-\d{2}-\d{2}/);
  assert.match(main, /期限计算：(公示期.*结束前答复|5个工作日内答复)/);
  assert.match(main, /提交异议/, 'the timeline starts with the filing');
  assert.ok(!(await page.content()).includes('13900004321'), 'the phone is not on the public page');
  assert.equal(await overflows(page), false, 'the status page fits the phone');
  await page.screenshot({ path: join(shots, 'objection-filed.png'), fullPage: true });
  await page.context().close();
});

test('the township reviewer answers it', async () => {
  const page = await smallPhone();
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill('guangzhi-shenhe');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.goto(base + '/staff/objections');
  const card = page.locator('section.card', { hasText: code });
  assert.match(await card.innerText(), /答复期限/);
  assert.match(await card.innerText(), /13900004321/, 'the reviewer (township commission) sees the phone');
  await card.getByLabel('答复（异议人可见）').fill('经核实，王建军已于今年3月迁出，已从名单中删除，将发布更正版本。');
  await card.getByLabel('处理状态').selectOption('closed');
  assert.equal(await overflows(page), false, 'the staff list fits the phone');
  await card.getByRole('button', { name: '保存答复' }).click();
  await page.getByText('答复已保存').waitFor();
  await page.screenshot({ path: join(shots, 'objection-answered-staff.png'), fullPage: true });
  await page.context().close();
});

test('the objector looks it up by code and rates the answer', async () => {
  const page = await smallPhone();
  await page.goto(base + '/objections');
  await page.getByLabel(/查询码/).fill(code.toLowerCase());
  await page.getByRole('button', { name: '查询' }).click();
  await page.getByRole('heading', { name: '异议处理进展' }).waitFor();
  assert.equal((await page.locator('#status').innerText()).trim(), '已答复');
  assert.match(await page.locator('#reply').innerText(), /已从名单中删除/);
  await page.getByLabel('满意', { exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.locator('#rating').waitFor();
  assert.equal((await page.locator('#status').innerText()).trim(), '已办结');
  assert.equal((await page.locator('#rating').innerText()).trim(), '满意');
  const timeline = await page.locator('.timeline').innerText();
  assert.match(timeline, /提交异议/);
  assert.match(timeline, /答复：经核实/);
  assert.match(timeline, /评价：满意/);
  assert.equal(await overflows(page), false, 'the rated page fits the phone');
  await page.screenshot({ path: join(shots, 'objection-rated.png'), fullPage: true });
  await page.context().close();
});
