// Browser tests for the foundation: the county page, a township's 民生监督 menu and the staff
// login, in Debian's Chromium on a phone-sized viewport. Starts the real `xiaowei demo` binary on
// a free port with a fresh data folder. Screenshots go to tests/browser/screenshots/.

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

test('a villager opens the county page and finds every township', async () => {
  const page = await phone();
  await page.goto(base + '/');
  await assert.doesNotReject(page.getByRole('heading', { name: '瓜州县 民生监督' }).waitFor());
  const townships = page.locator('ul.list li');
  assert.equal(await townships.count(), 15);
  await assert.doesNotReject(page.getByRole('link', { name: /广至藏族乡/ }).waitFor());
  assert.equal(await overflows(page), false, 'no horizontal scrolling on a phone');
  await page.screenshot({ path: join(shots, 'county.png'), fullPage: true });
  await page.context().close();
});

test('a township page shows the 民生监督 menu and each entry opens', async () => {
  const page = await phone();
  await page.goto(base + '/');
  await page.getByRole('link', { name: /广至藏族乡/ }).click();
  await page.getByRole('heading', { name: '广至藏族乡 民生监督' }).waitFor();
  for (const entry of ['惠农资金', '小微权力', '公示公开', '我要办事', '留言箱', '自助查询']) {
    const tile = page.locator('.tiles a', { hasText: entry });
    assert.equal(await tile.count(), 1, `menu entry ${entry}`);
    const box = await tile.boundingBox();
    assert.ok(box.height >= 48, `${entry} is a large touch target`);
  }
  await page.screenshot({ path: join(shots, 'township.png'), fullPage: true });
  await page.locator('.tiles a', { hasText: '惠农资金' }).click();
  await page.getByRole('heading', { name: '惠农资金' }).waitFor();
  // The township's own level has no rosters in the demo; its villages are listed to choose from.
  assert.match(await page.locator('.empty').innerText(), /请选择上面的补贴项目/);
  await page.getByRole('heading', { name: '各村花名册' }).waitFor();
  await page.goBack();
  await page.getByRole('link', { name: /卓园村/ }).click();
  await page.getByRole('heading', { name: '卓园村' }).waitFor();
  await page.context().close();
});

test('staff log in on a phone, see their scope, and a wrong password is explained', async () => {
  const page = await phone();
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill('zhuoyuan');
  await page.getByLabel('密码').fill('wrong-password');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /用户名或密码不正确/);
  await page.screenshot({ path: join(shots, 'login-error.png'), fullPage: true });

  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /您好/ }).waitFor();
  const body = await page.locator('main').innerText();
  assert.match(body, /村文书/);
  assert.match(body, /卓园村/);
  await page.screenshot({ path: join(shots, 'staff-home.png'), fullPage: true });

  await page.getByRole('link', { name: '组织与农户' }).first().click();
  await page.getByRole('heading', { name: /卓园村/ }).waitFor();
  await page.getByRole('link', { name: '一组' }).click();
  await page.locator('table caption', { hasText: '第 1 页' }).waitFor();
  await page.screenshot({ path: join(shots, 'staff-group.png'), fullPage: true });

  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('heading', { name: '工作人员登录' }).waitFor();
  await page.context().close();
});
