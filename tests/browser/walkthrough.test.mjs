// Browser tests at a 375 px phone for what walking the demo found: the 查询码 lookup behind
// 「已提交异议？凭查询码查看进展」, the commission's first screen with new alerts counted by kind
// (超一个季度未公开 one per village), the village clerk's breadcrumb, and rosters whose period
// could not be read. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;

before(async () => {
  demo = await startDemo();
  ({ base } = demo);
});

after(async () => {
  await demo?.stop();
});

async function phone375() {
  const context = await demo.browser.newContext({
    viewport: { width: 375, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  return context.newPage();
}

async function login(page, username) {
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(/\/staff$/);
}

test('the self-query page leads to the 查询码 form, which says when a code finds nothing', async () => {
  const page = await phone375();
  await page.goto(base + '/t/620922214/self-query');
  await page.getByRole('link', { name: '已提交异议？凭查询码查看进展' }).click();
  await page.waitForURL(/\/objections\?code=$/);
  await page.getByLabel(/查询码/).fill('zz99zz99');
  await page.getByRole('button', { name: '查询' }).click();
  await assert.doesNotReject(page.locator('#lookup-error').getByText('未找到这个查询码').waitFor());
  assert.match(await page.locator('#error-summary').innerText(), /未找到这个查询码/, 'the summary at the top says so too');
  assert.equal(await page.getByLabel(/查询码/).inputValue(), 'ZZ99ZZ99', 'what was typed is kept');
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'objection-lookup-375.png'), fullPage: true });
  await page.context().close();
});

test('the commission opens on new alerts counted by kind, one per village for lapsed disclosure', async () => {
  const page = await phone375();
  await login(page, 'jiwei');
  const kinds = page.locator('#alert-kinds li');
  assert.ok((await kinds.count()) >= 3, 'several kinds');
  const lapsed = kinds.filter({ hasText: '超一个季度未公开' });
  const count = Number(await lapsed.locator('strong').innerText());
  assert.ok(count > 0 && count <= 106, `at most one per village: ${count}`);
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'staff-home-alerts-375.png'), fullPage: true });
  await lapsed.getByRole('link').click();
  await page.waitForURL(/\/staff\/alerts\?kind=disclosure_overdue&status=new$/);
  assert.match(await page.locator('main').innerText(), new RegExp(`共${count}条`));
  assert.match(await page.locator('main').innerText(), /超过一个季度未公开（\d{4}年第.季度）/);
  await page.context().close();
});

test('the village clerk finds no forbidden link on the village office page', async () => {
  const page = await phone375();
  await login(page, 'zhuoyuan');
  await page.goto(base + '/staff/village-office/620922214200');
  const crumbs = page.locator('nav.crumbs');
  assert.match(await crumbs.innerText(), /村干部与会议/);
  assert.equal(await crumbs.locator('a').count(), 0, 'the township list is not the clerk\'s to open');
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'village-office-clerk-375.png'), fullPage: true });
  await page.context().close();
});

test('the roster list reads every demo period as a kind', async () => {
  const page = await phone375();
  await login(page, 'zhuoyuan');
  await page.goto(base + '/staff/rosters');
  assert.ok((await page.locator('tbody tr').count()) > 0);
  assert.equal(await page.getByText('批次未识别').count(), 0, 'the demo writes periods the parser reads');
  assert.equal(await overflows(page), false);
  await page.context().close();
});
