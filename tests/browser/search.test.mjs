// Browser test for search on a phone (360×740): from a township's 民生监督 page a villager
// searches a two-character word (低保) and a phrase (村道硬化), sees results from the catalogue,
// power records and rosters with the words marked, and opens one. Starts its own `xiaowei demo`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';

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

test('a villager searches from the township page and opens a marked result', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}`);
  await page.getByRole('searchbox', { name: '搜索' }).fill('低保');
  await page.getByRole('button', { name: '搜索' }).click();
  await page.getByRole('heading', { name: '搜索' }).waitFor();
  const marks = await page.locator('ul.results mark').allInnerTexts();
  assert.ok(marks.length > 0 && marks.every((m) => m === '低保'), `every mark is the query word: ${marks}`);
  const kinds = await page.locator('ul.results li').allInnerTexts();
  assert.ok(kinds.some((k) => k.startsWith('小微权力')), `a catalogue item is found:\n${kinds.join('\n')}`);
  assert.equal(await overflows(page), false, 'results do not scroll sideways');
  await page.screenshot({ path: join(shots, 'search-dibao.png'), fullPage: true });

  await page.getByRole('searchbox').fill('村道硬化');
  await page.getByRole('button', { name: '搜索' }).click();
  await page.locator('ul.results').waitFor();
  const first = page.locator('ul.results li a').first();
  const title = await first.innerText();
  assert.match(title, /村道硬化|村道.*硬化/);
  await page.screenshot({ path: join(shots, 'search-phrase.png'), fullPage: true });
  await first.click();
  await page.waitForLoadState('domcontentloaded');
  assert.match(await page.locator('h1').innerText(), /村道硬化/);

  await page.goto(`${base}/t/${GUANGZHI}/search?q=${encodeURIComponent('没有这种东西')}`);
  assert.match(await page.locator('.empty').innerText(), /没有找到/);
});
