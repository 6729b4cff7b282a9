// Browser tests for 留言箱 on a phone (360×740): a villager leaves a question (allowed to be
// public), a complaint, a suggestion and an anonymous report in 广至藏族乡; the township admin
// (guangzhi) answers the question publicly and it appears on the public list without the
// author's phone; the anonymous reporter follows the report with the query password and the
// commission (jiwei) answers it; the villager rates the question 不满意 and it is reopened.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows, provePhone } from './demo.mjs';

let demo;
let base;
let phone;
let questionUrl;
let question;
let report;
let secret;

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

test('a villager leaves a question that may be shown publicly', async () => {
  const page = await phone();
  await page.goto(base + '/t/620922214');
  await page.getByRole('link', { name: /留言箱/ }).click();
  await page.waitForURL(/\/messages$/);
  const main = await page.locator('main').textContent();
  assert.match(main, /公开答复/);
  assert.match(main, /每亩95元/, 'the demo has an answered public question');
  assert.equal(await overflows(page), false, 'the message page fits the phone');
  await page.screenshot({ path: join(shots, 'messages.png'), fullPage: true });
  await page.getByRole('link', { name: /咨询/ }).click();
  // A phone is optional for a question; to leave one, prove it first and come back.
  await page.getByRole('link', { name: '验证手机号' }).click();
  await provePhone(page, '13912340001');
  assert.equal(await page.getByLabel(/留下已验证的手机号/).isChecked(), true);
  await page.getByLabel('留言给').selectOption({ label: '卓园村' });
  await page.getByLabel('留言内容').fill('我是马玉兰，请问村里的自来水改造什么时候开工？');
  await page.getByLabel(/称呼/).fill('马玉兰');
  await page.getByLabel(/同意公开/).check();
  await page.screenshot({ path: join(shots, 'message-new.png'), fullPage: true });
  await page.getByRole('button', { name: '提交留言' }).click();
  await page.waitForURL(/\/messages\/LY\d{14}\?k=/);
  questionUrl = page.url();
  question = (await page.locator('#tracking').textContent()).trim();
  assert.match(question, /^LY\d{14}$/);
  assert.equal((await page.locator('#status').textContent()).trim(), '待处理');
  assert.match(await page.locator('main').textContent(), /139\*\*\*\*0001/);
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'message-new-question.png'), fullPage: true });
});

test('a complaint needs a phone; a suggestion does not', async () => {
  const page = await phone();
  await page.goto(base + '/t/620922214/messages/new?kind=complaint');
  // A complaint goes under a proven phone: the form sends the browser to prove one first.
  await provePhone(page, '13912340002');
  await page.waitForURL(/kind=complaint/);
  assert.match(await page.locator('#phone-proven').textContent(), /139\*\*\*\*0002/);
  await page.getByLabel('留言内容').fill('村委会办低保拖了一个月，没有人答复。');
  await page.getByRole('button', { name: '提交留言' }).click();
  await page.waitForURL(/\/messages\/LY\d{14}\?k=/);
  assert.match(await page.locator('main').textContent(), /投诉留言答复期限/);
  await page.goto(base + '/t/620922214/messages/new?kind=suggestion');
  await page.getByLabel('留言内容').fill('建议在村口装一盏路灯。');
  await page.getByRole('button', { name: '提交留言' }).click();
  await page.waitForURL(/\/messages\/LY\d{14}\?k=/);
  assert.match(await page.locator('main').textContent(), /我的建议留言/);
});

test('an anonymous report gets a query password, shown once', async () => {
  const page = await phone();
  await page.goto(base + '/t/620922214/messages');
  await page.getByRole('link', { name: /举报/ }).click();
  assert.match(await page.locator('main').textContent(), /只送达县纪委监委和乡镇纪委书记/);
  await page.getByLabel('留言给').selectOption({ label: '卓园村' });
  await page.getByLabel('留言内容').fill('村里有人冒领已去世老人的养老金，请纪委核查。');
  await page.getByRole('button', { name: '提交留言' }).click();
  secret = (await page.locator('#secret').textContent()).trim();
  report = (await page.locator('#tracking').textContent()).trim();
  assert.match(secret, /^[2-9A-Z]{5}-[2-9A-Z]{5}$/);
  assert.doesNotMatch(page.url(), new RegExp(secret), 'the password is never in a URL');
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'message-report-secret.png'), fullPage: true });
});

test('the township admin answers the question publicly; the report is not in their inbox', async () => {
  const page = await phone();
  await login(page, 'guangzhi');
  await page.getByLabel('工作台导航').getByRole('link', { name: '留言与异议' }).click();
  const inbox = await page.locator('main').textContent();
  assert.match(inbox, new RegExp(question));
  assert.doesNotMatch(inbox, new RegExp(report), 'reports go to the commission only');
  await page.screenshot({ path: join(shots, 'staff-inbox.png'), fullPage: true });
  await page.getByRole('link', { name: question }).click();
  assert.match(await page.locator('#phone').textContent(), /13912340001/);
  await page.getByLabel('答复内容（留言人可见）').fill('自来水改造工程计划明年三月开工，请马玉兰留意村务公开栏通知。');
  await page.getByLabel(/公开答复/).check();
  await page.getByRole('button', { name: '提交答复' }).click();
  assert.equal((await page.locator('#status').textContent()).trim(), '已答复');
  await page.screenshot({ path: join(shots, 'staff-message.png'), fullPage: true });
  const reportPage = await page.goto(base + '/staff/inbox/' + report);
  assert.equal(reportPage.status(), 404);
});

test('the public answer appears in the list without name or phone', async () => {
  const page = await phone();
  await page.goto(base + '/t/620922214/messages');
  const main = await page.locator('main').textContent();
  assert.match(main, /自来水改造什么时候开工/);
  assert.match(main, /明年三月开工/);
  assert.doesNotMatch(main, /马玉兰|13912340001/);
  await page.screenshot({ path: join(shots, 'messages-public-answer.png'), fullPage: true });
});

test('the commission answers the report; the reporter reads it with the password', async () => {
  const staff = await phone();
  await login(staff, 'jiwei');
  await staff.goto(base + '/staff/inbox?kind=report');
  await staff.getByRole('link', { name: report }).click();
  assert.match(await staff.locator('main').textContent(), /举报人身份受保护/);
  await staff.getByLabel('答复内容（留言人可见）').fill('已收到，县纪委监委已安排核查。');
  await staff.getByRole('button', { name: '提交答复' }).click();
  assert.equal((await staff.locator('#status').textContent()).trim(), '已答复');
  const page = await phone();
  await page.goto(base + '/messages');
  await page.getByLabel('留言编号').fill(report.toLowerCase());
  await page.getByLabel('手机号或查询密码').fill(secret.toLowerCase());
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForURL(/\/messages\/LY/);
  assert.match(await page.locator('#reply').textContent(), /已安排核查/);
});

test('the villager rates the answer 不满意 and the question is reopened', async () => {
  const page = await phone();
  await page.goto(questionUrl);
  assert.match(await page.locator('#reply').textContent(), /明年三月开工/);
  await page.getByRole('radio', { name: '不满意', exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  assert.match(await page.locator('main').textContent(), /选择不满意时，请写明原因/);
  await page.goBack();
  await page.getByRole('radio', { name: '不满意', exact: true }).check();
  await page.getByLabel(/说明/).fill('没有说清楚具体日期');
  await page.getByRole('button', { name: '提交评价' }).click();
  assert.equal((await page.locator('#status').textContent()).trim(), '重新办理');
  assert.equal((await page.locator('#rating').textContent()).trim(), '不满意');
  assert.match(await page.locator('main').textContent(), /县纪委监委已收到通知/);
  await page.screenshot({ path: join(shots, 'message-rated.png'), fullPage: true });
});
