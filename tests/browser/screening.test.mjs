// Browser tests for 大数据比对 on a phone (360×740): the county commission (jiwei) opens the hit
// list, filters it to 死亡冒领, opens the planted hit of 卓园村's 高龄补贴 with its evidence, moves
// it to 核实中 and then to 已查实 with a note, and the list's handling counts follow. The county
// admin sees the registries page. 广至乡's admin works through the 政策找人 list: records the
// outcome of a contact, and the lead leaves the open ones.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let phone;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
});

after(async () => {
  await demo?.stop();
});

async function login(page, username) {
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
}

async function count(page, label) {
  return Number((await page.locator(`[data-status="${label}"]`).textContent()).trim());
}

test('the commission verifies and confirms a hit, and the counts follow', async () => {
  const page = await phone();
  await login(page, 'jiwei');
  await page.goto(base + '/staff/screening');
  const confirmedBefore = await count(page, '已查实');
  const newBefore = await count(page, '待处理');
  assert.ok(newBefore > 0, 'the demo has hits to handle');
  assert.equal(await overflows(page), false, 'the hit list fits the phone');
  await page.screenshot({ path: join(shots, 'screening-list.png'), fullPage: true });

  await page.getByLabel('规则').selectOption('dead_payee');
  await page.getByRole('button', { name: '筛选' }).click();
  await page.waitForURL(/rule=dead_payee/);
  await page.getByRole('link', { name: '死亡冒领' }).first().click();
  await page.waitForURL(/\/staff\/screening\/\d+$/);
  const hitUrl = page.url();
  const main = await page.locator('main').textContent();
  assert.match(main, /刘长寿/);
  assert.match(main, /2024-09-12死亡/, 'the evidence names the death record');
  assert.match(main, /620922\*{8}\d{3}[\dX]/, 'the ID is masked');
  assert.equal((await page.locator('#hit-status').textContent()).trim(), '待处理');

  await page.getByLabel('处理结果').selectOption({ label: '核实中' });
  await page.getByRole('button', { name: '保存' }).click();
  await page.waitForURL(/done=handled/);
  assert.equal((await page.locator('#hit-status').textContent()).trim(), '核实中');

  await page.getByLabel('处理结果').selectOption({ label: '已查实' });
  await page.getByRole('button', { name: '保存' }).click();
  assert.match(await page.locator('main').textContent(), /请填写核查结论说明/, 'a conclusion needs a note');
  await page.goto(hitUrl);
  await page.getByLabel('处理结果').selectOption({ label: '已查实' });
  await page.getByLabel(/说明/).fill('经核实刘长寿已于2024年去世，其家属冒领高龄补贴，已责令退回。');
  await page.getByRole('button', { name: '保存' }).click();
  await page.waitForURL(/done=handled/);
  assert.equal((await page.locator('#hit-status').textContent()).trim(), '已查实');
  const history = await page.locator('ol.timeline').textContent();
  assert.match(history, /待处理 → 核实中/);
  assert.match(history, /核实中 → 已查实，经核实刘长寿/);
  assert.equal(await overflows(page), false, 'the hit page fits the phone');
  await page.screenshot({ path: join(shots, 'screening-hit.png'), fullPage: true });

  await page.goto(base + '/staff/screening');
  assert.equal(await count(page, '已查实'), confirmedBefore + 1);
  assert.equal(await count(page, '待处理'), newBefore - 1);
});

test('the county admin sees the registries and the screening settings', async () => {
  const page = await phone();
  await login(page, 'admin');
  await page.goto(base + '/staff/registries');
  const main = await page.locator('main').textContent();
  assert.match(main, /户籍登记/);
  assert.match(main, /80周岁以上/);
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'registries.png'), fullPage: true });

  // Two programmes are declared mutually exclusive, then the declaration is withdrawn.
  const options = await page.locator('#pair-a option').allTextContents();
  const [first, second] = options.filter((o) => o !== '请选择');
  await page.selectOption('#pair-a', { label: first });
  await page.selectOption('#pair-b', { label: second });
  await Promise.all([page.waitForURL(/done=paired/), page.getByRole('button', { name: /设为互斥/ }).click()]);
  assert.match(await page.locator('main').textContent(), new RegExp(`${first} 与 ${second}`));
  await Promise.all([page.waitForURL(/done=unpaired/), page.getByRole('button', { name: '取消互斥' }).click()]);
  assert.match(await page.locator('main').textContent(), /尚未设定互斥项目/);
});

test('a township records the outcome of a 政策找人 contact', async () => {
  const page = await phone();
  await login(page, 'guangzhi');
  await page.goto(base + '/staff/outreach');
  const main = await page.locator('main').textContent();
  assert.match(main, /政策找人/);
  assert.doesNotMatch(main, /暂无政策找人线索/, 'the demo has leads in 广至乡');
  assert.match(main, /620922\*{8}\d{3}[\dX]/, 'IDs are masked');
  assert.equal(await overflows(page), false, 'the lead list fits the phone');
  await page.screenshot({ path: join(shots, 'outreach.png'), fullPage: true });

  const open = page.locator('section.card', { has: page.locator('form') });
  const before = await open.count();
  assert.ok(before > 0, 'some leads wait for contact');
  const card = open.first();
  const who = (await card.locator('p').nth(1).textContent()).split('（')[0];
  await card.getByLabel('联系结果').selectOption({ label: '已纳入享受' });
  await card.getByLabel('情况说明').fill('已电话联系本人，补办高龄补贴申请，下月起发放。');
  await Promise.all([page.waitForURL(/done=recorded/), card.getByRole('button', { name: '记录结果' }).click()]);
  assert.match(await page.locator('[role=status]').textContent(), /联系结果已记录/);
  assert.equal(await open.count(), before - 1, 'the lead is no longer open');
  const done = page.locator('section.card', { hasText: who }).filter({ hasText: '已纳入享受' });
  assert.match(await done.first().textContent(), /结果：已电话联系本人/);
  await page.screenshot({ path: join(shots, 'outreach-recorded.png'), fullPage: true });
});
