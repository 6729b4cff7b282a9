// Browser test for the 公开账本 on a phone (360×740): a villager opens a demo power record, taps
// 核验 and the page's script checks the checkpoint signature, the leaf and its inclusion proof
// against the latest checkpoint, then says so in plain Chinese; 核验本页 on a roster recomputes
// the leaf from the page's own copy and catches rows edited in the database (by sqlite3, as an
// insider would) or text edited in the page. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let phone;
let recordPath;
let paidRoster;
let editedRoster;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const late = demo.output.match(/有超时步骤的运行记录：(\/power-records\/\d+)/);
  assert.ok(late, `the demo prints a power record:\n${demo.output}`);
  recordPath = late[1];
  paidRoster = demo.output.match(/有差异说明的发放结果：(\/rosters\/\d+)/)[1];
  editedRoster = demo.output.match(/公示期内的拟发放名单（含异议）：\/rosters\/(\d+)/)[1];
  // An insider raises one amount and the total behind the application's back, before anyone
  // has opened the page (so no cached copy of the honest page exists).
  execFileSync('sqlite3', [join(demo.dataDir, 'xiaowei.db'),
    `UPDATE roster_entries SET amount_fen = amount_fen + 50000 WHERE roster_id = ${editedRoster} AND row_no = (SELECT MIN(row_no) FROM roster_entries WHERE roster_id = ${editedRoster}); ` +
    `UPDATE rosters SET total_fen = total_fen + 50000 WHERE id = ${editedRoster};`]);
});

async function checkThisPage(page) {
  await page.getByRole('button', { name: '核验本页' }).click();
  const box = page.locator('#page-check[data-result]');
  await box.waitFor({ timeout: 30_000 });
  return {
    result: await box.getAttribute('data-result'),
    verdict: await page.locator('#page-verdict').textContent(),
    steps: await page.locator('#page-steps').textContent(),
  };
}

test('核验本页 on an untouched roster finds the page equal to its ledger record', async () => {
  const page = await phone();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}${paidRoster}`);
  const { result, verdict, steps } = await checkThisPage(page);
  assert.equal(result, 'match', `${verdict}\n${steps}\n${errors.join('\n')}`);
  assert.match(verdict, /^一致：本页内容与公开账本第 \d+ 号记录一致/);
  assert.match(steps, /由本页内容重新计算的摘要与账本记录一致/);
  assert.match(steps, /本页显示的文字与账本记录一致/);
  assert.equal(await page.locator('#page-verdict').getAttribute('class'), 'verdict ok', 'a success, not a warning');
  assert.equal(await page.locator('#page-report').isVisible(), false);
  await page.screenshot({ path: join(shots, 'ledger-page-match.png'), fullPage: true });
  assert.equal(await overflows(page), false);
  assert.deepEqual(errors, []);
});

test('核验本页 catches roster rows edited in the database and offers 反映问题', async () => {
  const page = await phone();
  await page.goto(`${base}/rosters/${editedRoster}`);
  const { result, verdict, steps } = await checkThisPage(page);
  await page.screenshot({ path: join(shots, 'ledger-page-mismatch.png'), fullPage: true });
  assert.equal(result, 'mismatch', `${verdict}\n${steps}`);
  assert.match(verdict, /^本页内容与公开账本记录不一致/);
  assert.match(steps, /entries_sha256/);
  const report = page.getByRole('link', { name: '反映问题' });
  assert.ok(await report.isVisible());
  await report.click();
  await page.waitForURL(/\/rosters\/\d+\/objection\?ledger=\d+/);
  assert.match(await page.locator('textarea').first().inputValue(), /本页内容与公开账本第 \d+ 号记录不一致/);
});

test('核验本页 catches displayed text that differs from the page copy', async () => {
  const page = await phone();
  await page.goto(`${base}${paidRoster}`);
  await page.evaluate(() => {
    const cell = document.querySelector('#entries tbody tr td:nth-child(3)');
    cell.textContent = '9,999.00';
  });
  const { result, verdict, steps } = await checkThisPage(page);
  assert.equal(result, 'mismatch', `${verdict}\n${steps}`);
  assert.match(verdict, /^本页内容与公开账本记录不一致：本页显示的文字与记录不符/);
  assert.match(steps, /第 1 行：本页显示“9,999.00”/);
});

after(async () => {
  await demo?.stop();
});

test('the verify link of a public record reports a match', async () => {
  const page = await phone();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => { if (r.url().includes('/ledger/') && r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${base}${recordPath}`);
  await page.getByRole('heading', { name: '公开账本' }).waitFor();
  await page.getByRole('link', { name: /^核验/ }).click();
  await page.getByRole('heading', { name: /^核验第 \d+ 号记录$/ }).waitFor();
  const box = page.locator('#verify[data-result]');
  await box.waitFor({ timeout: 30_000 });
  const verdict = await page.locator('#verdict').textContent();
  const steps = await page.locator('#steps').textContent();
  await page.screenshot({ path: join(shots, 'ledger-verify.png'), fullPage: true });
  assert.equal(await box.getAttribute('data-result'), 'match', `${verdict}\n${steps}\n${errors.join('\n')}`);
  assert.match(verdict, /^一致：本页内容确实记入了公开账本/);
  assert.match(steps, /包含证明（\d+ 个哈希）与检查点根哈希一致/);
  assert.ok(!steps.includes('✘'), steps);
  assert.equal(await overflows(page), false, 'the verify page does not scroll sideways');
  assert.deepEqual(errors, [], 'no script errors and no failed ledger requests');
});

test('the ledger overview links to the printable sheet and the consistency check', async () => {
  const page = await phone();
  await page.goto(`${base}/ledger`);
  await page.getByRole('heading', { name: '公开账本' }).waitFor();
  await page.getByRole('link', { name: /打印检查点/ }).click();
  await page.getByRole('heading', { name: '公开账本检查点' }).waitFor();
  const checkpoint = await page.locator('article.sheet pre').textContent();
  await page.goto(`${base}/ledger/consistency`);
  await page.getByLabel('签名检查点原文').fill(checkpoint);
  await page.getByRole('button', { name: '核对' }).click();
  await page.getByRole('heading', { name: /一致：账本自那时起只追加过/ }).waitFor();
  await page.screenshot({ path: join(shots, 'ledger-consistency.png'), fullPage: true });
  assert.equal(await overflows(page), false);
});
