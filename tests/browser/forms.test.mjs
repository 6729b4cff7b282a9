// Browser tests for forms that come back filled in: on each public form a villager gets wrong,
// the page returns with every value still there, the message above its field (tied to it by
// aria-describedby), and a summary at the top that has the focus — at 320 px and 375 px, in
// standard and elder mode. Screenshots go to screenshots/forms-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows, publicPages } from './demo.mjs';

let demo;
let base;
let pages;
let seed;

before(async () => {
  demo = await startDemo();
  base = demo.base;
  ({ pages, seed } = await publicPages(demo));
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
