// Browser test for the 公开账本 on a phone (360×740): a villager opens a demo power record, taps
// 核验 and the page's script checks the checkpoint signature, the leaf and its inclusion proof
// against the latest checkpoint, then says so in plain Chinese. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

let demo;
let base;
let phone;
let recordPath;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const late = demo.output.match(/有超时步骤的运行记录：(\/power-records\/\d+)/);
  assert.ok(late, `the demo prints a power record:\n${demo.output}`);
  recordPath = late[1];
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
