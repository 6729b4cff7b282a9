// Browser tests for 惠农资金 on a phone (360×740): a villager's self-query of the seed case and
// the objection it leads to, a paid roster's public page with its differences, and a clerk's
// import → submit → township review → public roster. Starts its own `xiaowei demo`; the seed
// villager's ID and the demo roster paths are read from what the demo prints.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, shots, overflows } from './demo.mjs';

const GUANGZHI = '620922214';
const MASKED_ID = /^\d{6}\*{8}\d{3}[\dX]$/;
/** A full ID number anywhere in a text (not part of a longer digit run). */
const FULL_ID = /(?<!\d)\d{17}[\dX](?!\d)/;

let demo;
let base;
let phone;
let seedId;
let differencesPath;
let csvDir;

before(async () => {
  demo = await startDemo();
  ({ base, phone } = demo);
  const seed = demo.output.match(/自助查询示例：马玉兰 (\d{17}[\dX])/);
  assert.ok(seed, `the demo prints the seed villager's ID:\n${demo.output}`);
  seedId = seed[1];
  const diff = demo.output.match(/有差异说明的发放结果：(\/rosters\/\d+)/);
  assert.ok(diff, `the demo prints the roster with differences:\n${demo.output}`);
  differencesPath = diff[1];
  csvDir = mkdtempSync(join(tmpdir(), 'xiaowei-roster-csv-'));
});

after(async () => {
  await demo?.stop();
  if (csvDir) rmSync(csvDir, { recursive: true, force: true });
});

/** Asserts that a control is comfortable to tap: at least 44 CSS pixels tall. */
async function assertTappable(locator, what) {
  const box = await locator.boundingBox();
  assert.ok(box, `${what} is visible`);
  assert.ok(box.height >= 44, `${what} is at least 44px tall (is ${box.height})`);
}

/** The distinct numbers of text lines the matching cells take up. */
async function linesOf(page, selector) {
  const counts = await page.locator(selector).evaluateAll((cells) =>
    cells.map((cell) => {
      const range = document.createRange();
      range.selectNodeContents(cell);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    }),
  );
  return [...new Set(counts)];
}

/** The GB 11643 check character of the first 17 digits. */
function checkChar(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return '10X98765432'[sum % 11];
}

/** Five invented 卓园村 villagers with valid ID numbers; `badRow` (0-based) gets a wrong check digit. */
function rosterCsv(title, badRow = -1) {
  const people = [
    ['祁文斌', '19580312', '一组', '712.50'],
    ['赵桂花', '19640721', '一组', '503.50'],
    ['贾建国', '19700105', '二组', '1026.00'],
    ['魏春梅', '19751118', '二组', '389.50'],
    ['常志强', '19660930', '三组', '855.00'],
  ];
  const rows = [[title], ['序号', '姓名', '身份证号', '组', '补贴金额（元）', '备注']];
  people.forEach(([name, born, group, amount], i) => {
    const body = `620922${born}${String(731 + 2 * i).padStart(3, '0')}`;
    let check = checkChar(body);
    if (i === badRow) check = check === '1' ? '2' : '1';
    rows.push([String(i + 1), name, body + check, group, amount, '确权面积核定']);
  });
  return { names: people.map((p) => p[0]), csv: rows.map((r) => r.join(',')).join('\r\n') + '\r\n' };
}

async function login(page, username) {
  await page.goto(base + '/staff/login');
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill('xiaowei2026');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /您好/ }).waitFor();
}

test('self-query: the seed villager sees 2014–2018 unpaid and reports it', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}`);
  await page.locator('.tiles a', { hasText: '自助查询' }).click();
  await page.getByRole('heading', { name: '自助查询' }).waitFor();
  await page.getByLabel('姓名').fill('马玉兰');
  await page.getByLabel(/身份证号/).fill(seedId);
  await assertTappable(page.getByRole('button', { name: '查询' }), '查询 button');
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the query form');
  await page.screenshot({ path: join(shots, 'self-query.png'), fullPage: true });
  await page.getByRole('button', { name: '查询' }).click();

  await page.getByRole('heading', { name: '马玉兰 的补贴记录' }).waitFor();
  const gaps = page.locator('#gaps');
  const gapText = await gaps.innerText();
  assert.match(gapText, /未见发放记录/);
  assert.match(gapText, /库区移民后期扶持/);
  assert.match(gapText, /2014–2018年/);
  assert.match(await page.locator('main').innerText(), new RegExp(`身份证号 ${seedId.slice(0, 6)}\\*{8}${seedId.slice(14)}`));
  const html = await page.content();
  assert.ok(!html.includes(seedId), 'the result page never contains the full ID');
  assert.doesNotMatch(html, FULL_ID);
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the result page');
  const report = gaps.getByRole('link', { name: '反映问题' });
  await assertTappable(report, '反映问题 button');
  await page.screenshot({ path: join(shots, 'self-query-result.png'), fullPage: true });

  await report.click();
  await page.getByRole('heading', { name: '反映问题' }).waitFor();
  assert.match(await page.locator('main').innerText(), /卓园村 · 库区移民后期扶持/);
  const body = await page.getByLabel('异议内容').inputValue();
  assert.match(body, /库区移民后期扶持/);
  assert.match(body, /2014.2018年未见发放记录/);
  await page.getByLabel('您的姓名').fill('马玉兰');
  await page.getByLabel(/手机号/).fill('13900001234');
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the objection form');
  await page.screenshot({ path: join(shots, 'objection-form.png'), fullPage: true });
  await page.getByRole('button', { name: '提交' }).click();

  await page.getByRole('heading', { name: '异议处理进展' }).waitFor();
  const code = await page.locator('#code').innerText();
  assert.match(code, /^[A-Z2-9]{8}$/, 'an 8-character tracking code');
  assert.equal(await page.locator('#status').innerText(), '待处理');
  assert.ok(page.url().includes(`/objections/${code}`));
  const statusHtml = await page.content();
  assert.ok(!statusHtml.includes('13900001234'), 'the public status page does not show the phone number');
  await page.screenshot({ path: join(shots, 'objection-status.png'), fullPage: true });
  await page.context().close();
});

test('self-query: a wrong name with a real ID finds nothing and reveals nothing', async () => {
  const page = await phone();
  await page.goto(`${base}/t/${GUANGZHI}/self-query`);
  await page.getByLabel('姓名').fill('马玉芳');
  await page.getByLabel(/身份证号/).fill(seedId);
  await page.getByRole('button', { name: '查询' }).click();
  await page.getByRole('heading', { name: '马玉芳 的补贴记录' }).waitFor();
  assert.match(await page.locator('#no-records').innerText(), /未查询到发放记录/);
  assert.equal(await page.locator('#gaps').count(), 0, 'no unpaid years for a wrong name');
  assert.equal(await page.locator('#payments').count(), 0, 'no payments for a wrong name');
  const html = await page.content();
  assert.ok(!html.includes(seedId), 'the page never contains the full ID');
  await page.screenshot({ path: join(shots, 'self-query-none.png'), fullPage: true });
  await page.context().close();
});

test('a paid roster shows its differences with reasons, masked IDs and a QR code', async () => {
  const page = await phone();
  await page.goto(base + differencesPath);
  await page.getByRole('heading', { name: /耕地地力保护补贴 发放结果/ }).waitFor();
  await page.getByRole('heading', { name: '与公示名单的差异' }).waitFor();

  const rows = await page.locator('#differences tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())),
  );
  const kinds = new Set(rows.map((r) => r[0]));
  assert.deepEqual([...kinds].sort(), ['公示后未发放', '发放金额与公示不一致', '未经公示即发放'].sort());
  for (const [kind, person, , , reason] of rows) {
    assert.ok(reason.length >= 4, `${kind} has a reason`);
    assert.match(person, /\d{6}\*{8}\d{3}[\dX]$/, `${kind} names a person by masked ID`);
  }
  const reasons = rows.map((r) => r[4]).join('\n');
  assert.match(reasons, /本人已去世/);
  assert.match(reasons, /道路建设征收/);
  assert.match(reasons, /村民代表会议/);

  // On a phone each difference reads as a card: its reason is fully on screen, not off to the side.
  for (const box of await page.locator('#differences tbody td:last-child').evaluateAll((tds) =>
    tds.map((td) => td.getBoundingClientRect().toJSON()))) {
    assert.ok(box.left >= 0 && box.right <= 360, `a reason is within the screen (${box.left}–${box.right})`);
  }
  assert.deepEqual(await linesOf(page, '#entries tbody td:nth-child(2)'), [1], 'names are never broken across lines');
  await assertTappable(page.locator('#entries tbody a.tap').first(), 'a row’s 异议 link');

  const ids = await page.locator('#entries tbody td.id').allInnerTexts();
  assert.ok(ids.length >= 10, `the entries table lists people (${ids.length})`);
  for (const id of ids) assert.match(id, MASKED_ID);
  assert.doesNotMatch(await page.content(), FULL_ID, 'no full ID anywhere in the page');

  const qr = page.getByRole('img', { name: '本页二维码' });
  await qr.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('.qr img')?.complete);
  assert.ok(await qr.evaluate((img) => img.naturalWidth) > 0, 'the QR image loads');

  assert.equal(await overflows(page), false, 'the page body does not scroll sideways');
  const object = page.getByRole('link', { name: '对此有异议' });
  await assertTappable(object, '对此有异议 button');
  await page.screenshot({ path: join(shots, 'roster-differences.png'), fullPage: true });

  await object.click();
  await page.getByRole('heading', { name: '对此有异议' }).waitFor();
  await page.context().close();
});

test('a clerk imports a roster, the township approves it, and it goes public', async () => {
  const year = new Date().getFullYear();
  const period = `${year}年第二次补发`;
  const { names, csv: goodCsv } = rosterCsv(`卓园村${period}耕地地力保护补贴花名册`);
  const { csv: badCsv } = rosterCsv(`卓园村${period}耕地地力保护补贴花名册`, 2);
  const good = join(csvDir, '花名册.csv');
  const bad = join(csvDir, '花名册（有误）.csv');
  writeFileSync(good, goodCsv);
  writeFileSync(bad, badCsv);

  const page = await phone();
  await login(page, 'zhuoyuan');
  await page.getByRole('navigation', { name: '工作台导航' }).getByRole('link', { name: '花名册' }).click();
  await page.getByRole('heading', { name: '花名册' }).waitFor();
  await page.getByRole('link', { name: '导入花名册' }).click();

  const fillImportForm = async (file) => {
    await page.getByRole('heading', { name: '导入花名册' }).waitFor();
    await page.getByLabel('补贴项目').selectOption({ label: '耕地地力保护补贴' });
    await page.getByLabel('村（社区）').selectOption({ label: '卓园村' });
    await page.getByLabel('年度', { exact: true }).fill(String(year));
    await page.getByLabel(/批次/).fill(period);
    await page.getByLabel(/拟发放公示（发放前公示）/).check();
    await page.getByLabel(/花名册文件/).setInputFiles(file);
  };

  // A file with one wrong check digit (third person, spreadsheet row 5) is refused, row named.
  await fillImportForm(bad);
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the import form');
  await page.screenshot({ path: join(shots, 'roster-import.png'), fullPage: true });
  await page.getByRole('button', { name: '上传并检查' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /发现 1 处问题/);
  const errors = await page.locator('#errors tbody tr').allInnerTexts();
  assert.equal(errors.length, 1);
  assert.match(errors[0], /第5行/);
  assert.match(errors[0], /校验位/);
  assert.equal(await page.getByRole('button', { name: '确认导入' }).count(), 0, 'no 确认导入 with errors');
  assert.doesNotMatch(await page.content(), FULL_ID, 'the preview masks IDs');
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the preview');
  await page.screenshot({ path: join(shots, 'roster-preview-errors.png'), fullPage: true });

  // The corrected file passes and is saved as a draft, then submitted.
  await page.getByRole('link', { name: '重新上传' }).click();
  await fillImportForm(good);
  await page.getByRole('button', { name: '上传并检查' }).click();
  await page.getByRole('status').filter({ hasText: '检查通过' }).waitFor();
  assert.match(await page.getByRole('status').innerText(), /5 人，合计 3,486\.50 元/);
  await page.screenshot({ path: join(shots, 'roster-preview-ok.png'), fullPage: true });
  await page.getByRole('button', { name: '确认导入' }).click();

  await page.getByRole('heading', { name: new RegExp(`卓园村 ${period} 耕地地力保护补贴`) }).waitFor();
  assert.equal(await page.locator('#status').innerText(), '草稿');
  const staffUrl = page.url();
  const id = staffUrl.match(/\/staff\/rosters\/(\d+)/)[1];
  assert.equal(await overflows(page), false, 'no horizontal scrolling on the draft roster');
  await page.screenshot({ path: join(shots, 'roster-draft.png'), fullPage: true });
  await page.getByRole('button', { name: '提交审核' }).click();
  await page.getByRole('status').filter({ hasText: '已提交乡镇审核' }).waitFor();
  assert.equal(await page.locator('#status').innerText(), '待审核');
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('heading', { name: '工作人员登录' }).waitFor();

  // The township reviewer finds it among the rosters waiting for review and approves it.
  await login(page, 'guangzhi-shenhe');
  await page.getByRole('navigation', { name: '工作台导航' }).getByRole('link', { name: '花名册' }).click();
  await page.locator('.filters').getByRole('link', { name: '待审核' }).click();
  await page.locator('.filters strong', { hasText: '待审核' }).waitFor();
  await page.screenshot({ path: join(shots, 'rosters-submitted.png'), fullPage: true });
  await page.getByRole('link', { name: new RegExp(period) }).click();
  await page.waitForURL(new RegExp(`/staff/rosters/${id}$`));
  assert.equal(await page.locator('#status').innerText(), '待审核');
  await page.getByRole('button', { name: '审核通过并公开' }).click();
  await page.getByRole('status').filter({ hasText: '审核通过' }).waitFor();
  assert.equal(await page.locator('#status').innerText(), '已公开');
  await page.screenshot({ path: join(shots, 'roster-approved.png'), fullPage: true });
  await page.context().close();

  // Anyone can now read it, in its seven-day publicity period, with masked IDs.
  const visitor = await phone();
  await visitor.goto(`${base}/rosters/${id}`);
  await visitor.getByRole('heading', { name: new RegExp(`${period} 耕地地力保护补贴 拟发放公示`) }).waitFor();
  assert.match(await visitor.locator('.summary').innerText(), /公示中，还剩 7 天/);
  const rows = await visitor.locator('#entries tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [tr.cells[1].innerText.trim(), tr.cells[3].innerText.trim()]),
  );
  assert.deepEqual(rows.map((r) => r[0]), names);
  for (const [, masked] of rows) assert.match(masked, MASKED_ID);
  assert.deepEqual(await linesOf(visitor, '#entries tbody td:nth-child(2)'), [1], 'names on one line');
  assert.doesNotMatch(await visitor.content(), FULL_ID, 'no full ID on the public page');
  assert.equal(await overflows(visitor), false, 'no horizontal scrolling on the public roster');
  await assertTappable(visitor.getByRole('link', { name: '对此有异议' }), '对此有异议 button');
  await visitor.screenshot({ path: join(shots, 'roster-public.png'), fullPage: true });
  await visitor.context().close();
});
