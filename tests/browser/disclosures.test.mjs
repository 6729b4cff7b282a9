// Browser tests for 公示公开 on a phone (360×740): a works project corrected once, read with the
// line-by-line changes from its first version; a village's quarterly finance disclosure with its
// income and expenditure table and totals; and the township page marking villages that have not
// disclosed their finances for more than a quarter. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';
const ZHUOYUAN = '620922214200';

let demo;
let base;
let phone;
let correctedPath;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const found = demo.output.match(/有两个版本的工程项目公示：(\/disclosures\/\d+)/);
  assert.ok(found, `the demo prints the corrected disclosure:\n${demo.output}`);
  correctedPath = found[1];
});

after(async () => {
  await demo?.stop();
});

/** Parses a yuan amount as shown ("12,345.60") into fen. */
function fen(text) {
  const clean = text.replace(/[,\s元]/g, '');
  if (clean === '') return 0;
  const [whole, frac = ''] = clean.replace('-', '').split('.');
  const value = Number(whole) * 100 + Number((frac + '00').slice(0, 2));
  return clean.startsWith('-') ? -value : value;
}

test('a corrected disclosure shows both versions and what changed, without colour alone', async () => {
  const page = await phone();
  await page.goto(base + correctedPath);
  await assert.doesNotReject(page.getByRole('heading', { name: '与第1版相比的修改' }).waitFor());
  const changes = page.locator('#changes');
  await assert.doesNotReject(changes.getByText('中标金额录入错误').waitFor());
  const removed = changes.locator('li.removed');
  const added = changes.locator('li.added');
  assert.match(await removed.first().innerText(), /－\s*删除\s*- 中标金额：368,500元/);
  const addedText = (await added.allInnerTexts()).join('\n');
  assert.match(addedText, /＋\s*新增\s*- 中标金额：386,500元/);
  assert.match(addedText, /质保期：2年/);
  const versions = page.locator('ul.versions li');
  assert.equal(await versions.count(), 2, 'both versions are listed');
  assert.match(await versions.nth(0).innerText(), /第1版 · 已更正/);
  assert.match(await versions.nth(1).innerText(), /第2版（本页）/);
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the corrected disclosure');
  await page.screenshot({ path: join(shots, 'disclosure-versions.png'), fullPage: true });

  await versions.nth(0).getByRole('link').click();
  await assert.doesNotReject(page.getByText('本版本已被更正').waitFor());
  assert.match(await page.locator('#body').innerText(), /368,500元/);
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the old version');
  await page.getByRole('link', { name: /查看最新版本/ }).click();
  await page.waitForURL(base + correctedPath);
  await page.context().close();
});

test('a quarterly finance disclosure shows its lines and totals that add up', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/disclosures?village=${ZHUOYUAN}`);
  await assert.doesNotReject(page.getByText('财务收支已按季度公开').waitFor());
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the village page');
  await page.screenshot({ path: join(shots, 'disclosures-village.png'), fullPage: true });
  await page.locator('ul.disclosures a', { hasText: '财务收支公开' }).first().click();
  const table = page.locator('#finance');
  await assert.doesNotReject(table.waitFor());
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 6);
  let income = 0;
  let expense = 0;
  for (const row of await rows.all()) {
    income += fen(await row.locator('td').nth(2).innerText());
    expense += fen(await row.locator('td').nth(3).innerText());
  }
  const totals = page.locator('#totals');
  const total = async (name) => fen(await totals.locator('div', { hasText: name }).locator('dd').innerText());
  assert.equal(await total('收入合计'), income);
  assert.equal(await total('支出合计'), expense);
  assert.equal(await total('结余'), income - expense);
  assert.equal(income, 7_360_000, 'the demo quarter takes in 73,600.00 yuan');
  // The amounts stay on screen: the table fits the phone without scrolling sideways.
  const box = await table.boundingBox();
  assert.ok(box && box.width <= 360, `the finance table fits the phone (is ${box?.width}px)`);
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the finance disclosure');
  await page.screenshot({ path: join(shots, 'disclosure-finance.png'), fullPage: true });
  await page.context().close();
});

test('the township page marks villages that have not disclosed their finances for a quarter', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/disclosures`);
  const marks = page.locator('.overdue-tag');
  await assert.doesNotReject(marks.first().waitFor());
  assert.ok((await marks.count()) >= 2, 'the late village and the one that never disclosed are marked');
  const zhuoyuan = page.locator('li', { hasText: '卓园村' });
  assert.equal(await zhuoyuan.locator('.overdue-tag').count(), 0, '卓园村 is on time');
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the township page');
  await page.screenshot({ path: join(shots, 'disclosures-township.png'), fullPage: true });
  await page.locator('li', { has: page.locator('.overdue-tag') }).first().getByRole('link').click();
  await assert.doesNotReject(page.getByText('超过一个季度（92天）未公开财务收支').waitFor());
  await page.screenshot({ path: join(shots, 'disclosures-overdue-village.png'), fullPage: true });
  await page.context().close();
});
