// Browser tests for 小微权力 on a phone (360×740): a villager opens 卓园村's catalogue, an item
// with its SVG flowchart (visible, within the screen width), and the demo record with a late
// step, flagged in words. Starts its own `xiaowei demo`; the record path is read from its output.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';
const ZHUOYUAN = '620922214200';

let demo;
let base;
let phone;
let latePath;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const late = demo.output.match(/有超时步骤的运行记录：(\/power-records\/\d+)/);
  assert.ok(late, `the demo prints the record with a late step:\n${demo.output}`);
  latePath = late[1];
});

after(async () => {
  await demo?.stop();
});

test('a power item shows its flowchart within a phone screen', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/v/${ZHUOYUAN}`);
  await page.getByRole('link', { name: /^小微权力 / }).click();
  await page.getByRole('heading', { name: '小微权力清单' }).waitFor();
  await page.screenshot({ path: join(shots, 'powers-catalogue.png'), fullPage: true });
  assert.equal(await overflows(page), false, 'the catalogue does not scroll sideways');
  await page.getByRole('link', { name: /村级工程项目招投标/ }).first().click();
  const svg = page.locator('figure.flowchart svg');
  await svg.waitFor();
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 200 && box.width <= 360, `the flowchart fits the width (is ${box?.width})`);
  assert.equal(await svg.locator('rect').count(), 5, 'one box per step');
  assert.match(await svg.textContent(), /第5步/);
  assert.equal(await overflows(page), false, 'the item page does not scroll sideways');
  await page.screenshot({ path: join(shots, 'powers-item.png'), fullPage: true });
});

test('an exercise record flags its late step in words', async () => {
  const page = await phone();
  await page.goto(base + latePath);
  await page.getByRole('heading', { name: /村道硬化/ }).waitFor();
  const late = page.locator('li.step.late');
  assert.equal(await late.count(), 1);
  assert.match(await late.textContent(), /超时办理/);
  assert.match(await late.textContent(), /超出时限\d+天/);
  assert.equal(await overflows(page), false, 'the record does not scroll sideways');
  await page.screenshot({ path: join(shots, 'powers-record-late.png'), fullPage: true });
});
