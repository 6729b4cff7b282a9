// Browser tests for 我要办事 on a phone (360×740): a villager finds an item in 广至藏族乡's
// catalogue, applies, and gets a tracking number; from another phone they follow the case by
// tracking number and phone; the 民政局 officer (minzheng) records the first contact and
// completes it in the back office; the villager rates it 不满意 and the case is reopened.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let phone;
let tracking;
let caseUrl;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
});

after(async () => {
  await demo?.stop();
});

test('a villager finds an item and applies online', async () => {
  const page = await phone();
  await page.goto(base + '/t/620922214');
  await page.getByRole('link', { name: /我要办事/ }).click();
  await page.waitForURL(/\/services$/);
  assert.match(await page.locator('main').textContent(), /64项服务事项/);
  assert.equal(await overflows(page), false, 'the catalogue fits the phone');
  await page.getByLabel('查找事项').fill('高龄');
  await page.getByRole('button', { name: '查找' }).click();
  await page.getByRole('link', { name: /高龄补贴申领/ }).click();
  assert.match(await page.locator('main').textContent(), /15个工作日/);
  await page.screenshot({ path: join(shots, 'service-item.png'), fullPage: true });
  await page.getByRole('link', { name: '在线申请' }).click();
  // From a browser the phone is proven first: a wrong code says how many tries are left.
  await page.waitForURL(/\/phone\?next=/);
  await page.getByLabel('手机号').fill('13912345678');
  await page.getByRole('button', { name: '获取短信验证码' }).click();
  assert.match(await page.locator('#sent-to').textContent(), /139\*\*\*\*5678/);
  const code = (await page.locator('#shown-code strong').textContent()).trim();
  await page.getByLabel(/短信验证码/).fill(code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: '确认' }).click();
  assert.match(await page.locator('#phone-error').textContent(), /还可以再试4次/);
  assert.equal(await overflows(page), false, 'the code page fits the phone');
  await page.screenshot({ path: join(shots, 'phone-code-wrong.png'), fullPage: true });
  await page.getByLabel(/短信验证码/).fill(code);
  await page.getByRole('button', { name: '确认' }).click();
  await page.waitForURL(/\/services\/\d+\/apply/);
  assert.match(await page.locator('#phone-proven').textContent(), /139\*\*\*\*5678（已验证/);
  await page.getByLabel('申请人姓名').fill('马玉兰');
  await page.getByLabel('所在村（社区）').selectOption({ label: '卓园村' });
  await page.getByLabel(/身份证号/).fill('620922194501011236');
  await page.getByLabel('需求描述').fill('我母亲今年满80周岁了，申请高龄补贴。');
  await page.screenshot({ path: join(shots, 'service-apply.png'), fullPage: true });
  await page.getByRole('button', { name: '提交申请' }).click();
  await page.waitForURL(/\/cases\/BJ\d{14}\?k=/);
  tracking = (await page.locator('#tracking').textContent()).trim();
  assert.match(tracking, /^BJ\d{14}$/);
  assert.equal((await page.locator('#status').textContent()).trim(), '待联系');
  assert.match(await page.locator('main').textContent(), /期限计算：自/);
  assert.match(await page.locator('main').textContent(), /139\*\*\*\*5678/);
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'service-case-new.png'), fullPage: true });
});

test('the applicant follows the case by tracking number and phone', async () => {
  const page = await phone();
  await page.goto(base + '/cases');
  await page.getByLabel('办件编号').fill(tracking.toLowerCase());
  await page.getByLabel('申请时留下的手机号').fill('13900000000');
  await page.getByRole('button', { name: '查询' }).click();
  assert.match(await page.locator('main').textContent(), /没有找到该办件/);
  await page.goBack();
  await page.getByLabel('申请时留下的手机号').fill('13912345678');
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForURL(/\/cases\/BJ/);
  caseUrl = page.url();
  assert.equal((await page.locator('#status').textContent()).trim(), '待联系');
});

test('the department officer contacts the applicant and completes the case', async () => {
  const page = await phone();
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill('minzheng');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.goto(base + '/staff/cases');
  await page.getByRole('link', { name: tracking }).click();
  assert.match(await page.locator('#phone').textContent(), /13912345678/, 'the handler sees the phone to call');
  await page.getByLabel('联系方式').selectOption('phone');
  await page.getByLabel('联系情况').fill('已电话联系，约定明天上门核实。');
  await page.getByRole('button', { name: '保存联系记录' }).click();
  assert.equal((await page.locator('#status').textContent()).trim(), '办理中');
  await page.getByLabel('答复内容（申请人可见）').fill('经核实符合条件，自下月起按月发放高龄补贴。');
  await page.getByRole('button', { name: '办结并答复' }).click();
  assert.equal((await page.locator('#status').textContent()).trim(), '已办结');
  await page.screenshot({ path: join(shots, 'staff-case.png'), fullPage: true });
});

test('the applicant rates the reply 不满意 and the case is reopened', async () => {
  const page = await phone();
  await page.goto(caseUrl);
  assert.match(await page.locator('#reply').textContent(), /自下月起按月发放/);
  await page.getByRole('radio', { name: '不满意', exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  assert.match(await page.locator('main').textContent(), /选择不满意时，请写明原因/);
  await page.goBack();
  await page.getByRole('radio', { name: '不满意', exact: true }).check();
  await page.getByLabel(/说明/).fill('补贴标准没有说清楚');
  await page.getByRole('button', { name: '提交评价' }).click();
  assert.equal((await page.locator('#status').textContent()).trim(), '重新办理');
  assert.equal((await page.locator('#rating').textContent()).trim(), '不满意');
  await page.screenshot({ path: join(shots, 'service-case-rated.png'), fullPage: true });
});
