// Browser tests for the village office on a phone (360×740): the demo's 卓园村 page shows who is
// on duty today, highlighted, with a tap-to-call link at least 44 px tall; the clerk (zhuoyuan)
// publishes a meeting notice in the back office and it appears on the village page. Starts its
// own `xiaowei demo`; the village path is read from what the demo prints.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let phone;
let villagePath;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const example = demo.output.match(/村委会值班示例：(\/t\/\d+\/v\/\d+)/);
  assert.ok(example, `the demo prints a village office example:\n${demo.output}`);
  villagePath = example[1];
});

after(async () => {
  await demo?.stop();
});

/** Asserts that a control is comfortable to tap: at least 44 CSS pixels tall. */
async function assertTappable(locator, what) {
  const box = await locator.boundingBox();
  assert.ok(box, `${what} is visible`);
  assert.ok(box.height >= 44, `${what} is at least 44px tall (is ${box.height})`);
}

/** Today's date as the page writes it (`11月30日`), in Asia/Shanghai. */
function shanghaiMonthDay() {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric' })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('month')}月${get('day')}日`;
}

test("the village page highlights today's duty cadre with a tap-to-call phone", async () => {
  const page = await phone();
  await page.goto(base + villagePath);
  const card = page.locator('#duty-today');
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(`今天 ${shanghaiMonthDay()}`));
  const name = (await card.locator('.who strong').textContent()).trim();
  assert.ok(name.length >= 2, `today's card names a cadre (${name})`);

  const call = card.locator('a.call');
  assert.match(await call.getAttribute('href'), /^tel:1\d{10}$/);
  await assertTappable(call, "today's call button");

  const today = page.locator('table.rota tr.today');
  assert.equal(await today.count(), 1, 'exactly one rota row is today');
  assert.match(await today.textContent(), new RegExp(name));
  const todayBg = await today.locator('td').first().evaluate((td) => getComputedStyle(td).backgroundColor);
  const otherBg = await page.locator('table.rota tbody tr:not(.today) td').first()
    .evaluate((td) => getComputedStyle(td).backgroundColor);
  assert.notEqual(todayBg, otherBg, "today's row is highlighted");

  const onDuty = page.locator('.cadres li.on-duty');
  assert.equal(await onDuty.count(), 1);
  assert.match(await onDuty.textContent(), /今日值班/);
  const cadres = page.locator('.cadres li');
  assert.ok((await cadres.count()) >= 4, 'the village publishes at least four cadres');
  for (const link of await page.locator('.cadres a.call').all()) {
    await assertTappable(link, 'a cadre phone link');
    assert.match(await link.getAttribute('href'), /^tel:1\d{10}$/);
  }
  assert.match(await page.locator('.meeting.upcoming').first().textContent(), /即将召开/);
  assert.match(await page.locator('.meeting .minutes').first().textContent(), /会议纪要/);
  assert.equal(await overflows(page), false, 'the page does not scroll sideways');
  await page.screenshot({ path: join(shots, 'village-office.png'), fullPage: true });
  const sections = await page.locator('section.office').all();
  for (const [i, section] of sections.entries()) {
    await section.screenshot({ path: join(shots, `village-office-section-${i + 1}.png`) });
  }
  await page.context().close();
});

test('the clerk publishes a meeting notice that appears on the village page', async () => {
  const page = await phone();
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill('zhuoyuan');
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /您好/ }).waitFor();
  await page.getByRole('link', { name: '村干部与会议', exact: true }).click();
  await page.getByRole('heading', { name: /村干部与会议/ }).waitFor();
  assert.equal(await overflows(page), false, 'the back office page does not scroll sideways');

  const next = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('会议日期').fill(next);
  await page.getByLabel('会议时间').fill('10:00');
  await page.getByLabel('地点').fill('村委会二楼会议室');
  await page.getByLabel('全体村民').check();
  await page.getByLabel('议题').fill('讨论冬季防火和供暖安排');
  await page.getByRole('button', { name: '发布会议通知' }).click();
  await page.getByText('会议通知已发布').waitFor();
  await page.screenshot({ path: join(shots, 'village-office-staff.png'), fullPage: true });

  await page.goto(base + villagePath);
  const notice = page.locator('.meeting.upcoming', { hasText: '讨论冬季防火和供暖安排' });
  await notice.waitFor();
  assert.match(await notice.textContent(), /全体村民/);
  await page.context().close();
});
