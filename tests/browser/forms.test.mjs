// Browser tests for forms that come back filled in: on each public form a villager gets wrong,
// the page returns with every value still there, the message above its field (tied to it by
// aria-describedby), and a summary at the top that has the focus — at 320 px and 375 px, in
// standard and elder mode; the application and the message keep a photo already chosen. On a
// 1080×1920 hall terminal: the message form comes back filled in, its 在手机上继续 QR code opens
// the same form on a phone with the place chosen, and the on-screen input types a name and a
// short text. Screenshots go to screenshots/forms-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows, publicPages, provePhone } from './demo.mjs';

let demo;
let base;
let pages;
let seed;
let enrol;

before(async () => {
  demo = await startDemo();
  base = demo.base;
  ({ pages, seed, enrol } = await publicPages(demo));
});

after(async () => {
  await demo?.stop();
});

async function phoneAt(width, elder) {
  const context = await demo.browser.newContext({
    viewport: { width, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  if (elder) await context.addCookies([{ name: 'xw_elder', value: '1', url: base }]);
  return context.newPage();
}

/** Submits the page's form and checks the error round trip: values kept, messages tied, summary focused. */
async function roundTrip(page, { path, fill, wrong, tag }) {
  await page.goto(`${base}${path}`);
  for (const [selector, value] of Object.entries(fill)) await page.fill(selector, value);
  await Promise.all([page.waitForNavigation(), page.locator('main form.stack button[type=submit]').first().click()]);
  const summary = page.locator('#error-summary');
  await summary.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', `${tag}: the summary has the focus`);
  for (const [selector, value] of Object.entries(fill)) {
    assert.equal(await page.locator(selector).inputValue(), value, `${tag}: ${selector} keeps what was typed`);
  }
  for (const field of wrong) {
    const input = page.locator(`#${field}`);
    assert.equal(await input.getAttribute('aria-invalid'), 'true', `${tag}: ${field} is marked`);
    const described = await input.getAttribute('aria-describedby');
    assert.equal(described, `${field}-error`);
    const message = (await page.locator(`#${described}`).innerText()).trim();
    assert.ok(message.length > 2, `${tag}: ${field} has its message`);
    assert.match(await summary.innerText(), new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await summary.locator(`a[href="#${field}"]`).waitFor();
  }
  assert.equal(await overflows(page), false, `${tag}: no sideways scrolling`);
}

const wrongCheck = () => `${seed.id.slice(0, 17)}${seed.id.endsWith('0') ? '1' : '0'}`;

const FORMS = [
  {
    name: 'self-query',
    path: () => pages.selfQuery,
    fill: () => ({ '#name': seed.name, '#id_number': wrongCheck() }),
    wrong: ['id_number'],
  },
  {
    name: 'objection',
    path: () => pages.objectionForm,
    fill: () => ({ '#name': '马玉兰', '#phone': '1380013', '#body': '少' }),
    wrong: ['phone', 'body'],
  },
  {
    name: 'case lookup',
    path: () => pages.caseLookup,
    fill: () => ({ '#tracking': 'BJ2025', '#phone': '13800138000' }),
    wrong: ['tracking'],
  },
  {
    name: 'message lookup',
    path: () => pages.messageLookup,
    fill: () => ({ '#tracking': 'LY20251009123456', '#credential': '13800138000' }),
    wrong: ['tracking'],
  },
];

for (const form of FORMS) {
  test(`${form.name}: an error keeps what was typed, at 320 and 375 px, standard and elder`, async () => {
    for (const width of [320, 375]) {
      for (const elder of [false, true]) {
        const page = await phoneAt(width, elder);
        const tag = `${form.name} ${width}${elder ? ' elder' : ''}`;
        await roundTrip(page, { path: form.path(), fill: form.fill(), wrong: form.wrong, tag });
        await page.screenshot({ path: join(shots, `forms-${form.name.replace(' ', '-')}-${width}${elder ? '-elder' : ''}.png`) });
        await page.context().close();
      }
    }
  });
}

test('a roster objection with a missing phone keeps the text and the entry it is about', async () => {
  const page = await phoneAt(375, false);
  await page.goto(`${base}${pages.roster}`);
  const first = page.locator('#entries tbody tr').first();
  await first.locator('td.act a').click();
  await page.waitForURL(/\/objection\?entry=/);
  const context = await page.locator('main > p.muted').first().innerText();
  await page.fill('#name', '马玉兰');
  await page.fill('#body', '这户已经搬走两年了，不应再领取。');
  await Promise.all([page.waitForNavigation(), page.locator('main form.stack button[type=submit]').click()]);
  await page.locator('#error-summary').waitFor();
  assert.equal(await page.locator('#body').inputValue(), '这户已经搬走两年了，不应再领取。');
  assert.equal(await page.locator('#name').inputValue(), '马玉兰');
  assert.equal(await page.locator('main > p.muted').first().innerText(), context, 'still about the same entry');
  assert.equal(await page.locator('input[name=entry]').count(), 1);
  await page.fill('#phone', '13800138000');
  await Promise.all([page.waitForNavigation(), page.locator('main form.stack button[type=submit]').click()]);
  await page.waitForURL(/\/objections\/[A-Z0-9]+\?new=1/);
  await page.context().close();
});

/** A 1×1 PNG, as a file the page's photo field takes. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001'
  + '0d0a2db40000000049454e44ae426082',
  'hex',
);

test('an application with a wrong ID and a short description keeps everything, its photo included', async () => {
  for (const width of [320, 375]) {
    const page = await phoneAt(width, false);
    await page.goto(`${base}${pages.apply}`);
    await provePhone(page, `1391234${width}0`.slice(0, 11));
    await page.waitForURL(/\/apply\?/);
    await page.getByLabel('申请人姓名').fill('马玉兰');
    await page.getByLabel('所在村（社区）').selectOption({ label: '卓园村' });
    await page.getByLabel(/身份证号/).fill(wrongCheck());
    await page.getByLabel('需求描述').fill('补贴');
    await page.locator('#photos').setInputFiles([{ name: '门前.png', mimeType: 'image/png', buffer: PNG }]);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交申请' }).click()]);
    await page.locator('#error-summary').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
    assert.equal(await page.getByLabel('申请人姓名').inputValue(), '马玉兰');
    assert.equal(await page.locator('#village option:checked').innerText(), '卓园村');
    assert.equal(await page.getByLabel(/身份证号/).inputValue(), wrongCheck());
    assert.equal(await page.getByLabel('需求描述').inputValue(), '补贴');
    for (const field of ['id_number', 'description']) {
      assert.equal(await page.locator(`#${field}`).getAttribute('aria-describedby'), `${field}-error`);
      await page.locator(`#error-summary a[href="#${field}"]`).waitFor();
    }
    assert.equal(await page.locator('#staged input[name=staged]:checked').count(), 1, 'the photo is kept');
    assert.equal(await overflows(page), false, `${width}: no sideways scrolling`);
    await page.screenshot({ path: join(shots, `forms-apply-${width}.png`), fullPage: true });
    await page.getByLabel(/身份证号/).fill(seed.id);
    await page.getByLabel('需求描述').fill('我母亲今年满80周岁了，申请高龄补贴。');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交申请' }).click()]);
    await page.waitForURL(/\/cases\/BJ\d{14}\?k=/);
    await page.context().close();
  }
});

test('a message that is too short keeps the place, the name and the photo', async () => {
  for (const width of [320, 375]) {
    const page = await phoneAt(width, true);
    await page.goto(`${base}${pages.messageForm}?kind=question`);
    await page.getByLabel('留言给').selectOption({ index: 1 });
    const place = await page.locator('#place').inputValue();
    await page.getByLabel('留言内容').fill('路灯');
    await page.getByLabel(/称呼/).fill('老马');
    await page.locator('#photos').setInputFiles([{ name: '路灯.png', mimeType: 'image/png', buffer: PNG }]);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交留言' }).click()]);
    await page.locator('#error-summary').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
    assert.equal(await page.locator('#place').inputValue(), place);
    assert.equal(await page.getByLabel('留言内容').inputValue(), '路灯');
    assert.equal(await page.getByLabel(/称呼/).inputValue(), '老马');
    assert.equal(await page.locator('#body').getAttribute('aria-describedby'), 'body-error');
    assert.equal(await page.locator('#staged input[name=staged]:checked').count(), 1);
    assert.equal(await overflows(page), false, `${width}: no sideways scrolling`);
    await page.screenshot({ path: join(shots, `forms-message-${width}-elder.png`), fullPage: true });
    await page.getByLabel('留言内容').fill('卓园村路口的路灯坏了一个月。');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交留言' }).click()]);
    await page.waitForURL(/\/messages\/LY\d{14}\?k=/);
    await page.context().close();
  }
});

test('on a hall terminal: on-screen input, a form that comes back, and 在手机上继续', async () => {
  const kiosk = await demo.screen(1080, 1920);
  const errors = [];
  kiosk.on('pageerror', (e) => errors.push(String(e)));
  await kiosk.goto(`${base}${enrol}`);
  await kiosk.waitForURL(`${base}/kiosk`);
  await kiosk.goto(`${base}${pages.messageForm}?kind=question`);
  await kiosk.locator('#kiosk-continue img').waitFor();

  // The on-screen input: a name from the surname and given-name tiles, a text from word tiles.
  const nameOpener = kiosk.locator('#name + button.osk-open');
  await nameOpener.click();
  await kiosk.locator('#osk .osk-tabs button', { hasText: /^姓$/ }).click();
  await kiosk.locator('#osk .osk-keys button', { hasText: /^马$/ }).click();
  await kiosk.locator('#osk .osk-tabs button', { hasText: '名字常用字' }).click();
  await kiosk.locator('#osk .osk-keys button', { hasText: /^玉$/ }).click();
  await kiosk.locator('#osk .osk-keys button', { hasText: /^兰$/ }).click();
  assert.equal(await kiosk.locator('#name').inputValue(), '马玉兰');
  const smallest = await kiosk.evaluate(() => Math.min(...[...document.querySelectorAll('#osk button, button.osk-open')]
    .filter((b) => b.offsetParent !== null)
    .flatMap((b) => [b.getBoundingClientRect().height, b.getBoundingClientRect().width])));
  assert.ok(smallest >= 60, `on-screen keys are at least 60 px (${smallest})`);
  await kiosk.screenshot({ path: join(shots, 'forms-kiosk-osk-name.png') });
  await kiosk.locator('#osk button', { hasText: '完成' }).click();
  await kiosk.locator('#body + button.osk-open').click();
  await kiosk.locator('#osk .osk-keys button', { hasText: /^路灯$/ }).click();
  assert.equal(await kiosk.locator('#body').inputValue(), '路灯');
  await kiosk.locator('#osk button', { hasText: '完成' }).click();

  // 在手机上继续 carries the place chosen, never the text.
  await kiosk.getByLabel('留言给').selectOption({ index: 2 });
  const place = await kiosk.locator('#place').inputValue();
  const url = await kiosk.locator('#kiosk-continue').getAttribute('data-url');
  assert.match(url, new RegExp(`kind=question&place=${place}$`));
  assert.doesNotMatch(url, /%E9%A9%AC|马|路灯/);
  assert.match(await kiosk.locator('#kiosk-continue img').getAttribute('src'), /^\/kiosk\/continue\.svg\?to=/);
  const qr = await kiosk.request.get(`${base}${await kiosk.locator('#kiosk-continue img').getAttribute('src')}`);
  assert.equal(qr.status(), 200);

  // The form comes back on the terminal with what was entered.
  await Promise.all([kiosk.waitForNavigation(), kiosk.getByRole('button', { name: '提交留言' }).click()]);
  await kiosk.locator('#error-summary').waitFor();
  assert.equal(await kiosk.locator('#name').inputValue(), '马玉兰');
  assert.equal(await kiosk.locator('#body').inputValue(), '路灯');
  assert.equal(await kiosk.locator('#place').inputValue(), place);
  await kiosk.screenshot({ path: join(shots, 'forms-kiosk-message-again.png'), fullPage: true });
  assert.deepEqual(errors, []);

  for (const width of [320, 375]) {
    const phone = await phoneAt(width, false);
    await phone.goto(`${base}${url}`);
    assert.equal(await phone.locator('#place').inputValue(), place, 'the phone opens the same form with the place chosen');
    assert.equal(await phone.locator('#name').inputValue(), '');
    assert.equal(await phone.locator('#kiosk-continue').count(), 0, 'phones get no QR of their own');
    assert.equal(await overflows(phone), false);
    await phone.screenshot({ path: join(shots, `forms-continued-${width}.png`), fullPage: true });
    await phone.context().close();
  }
  await kiosk.context().close();
});
