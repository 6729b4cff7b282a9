// Browser tests for pages an elderly villager can read and use: text sizes in standard mode, the
// 长辈模式 switch (remembered, on by default on a hall terminal), reflow without sideways scrolling
// at 320 px, with 200 % text and in elder mode, rosters as cards on a phone with one row number
// everywhere, and self-query results whose dates never break. Screenshots of both modes go to
// screenshots/a11y-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startDemo, shots, overflows, publicPages } from './demo.mjs';

let demo;
let base;
let pages;
let seed;
let enrol;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

before(async () => {
  demo = await startDemo();
  base = demo.base;
  ({ pages, seed, enrol } = await publicPages(demo));
});

after(async () => {
  await demo?.stop();
});

/** A page in a fresh phone context `width` px wide, in elder mode if asked (`bypassCSP` lets a test add a style). */
async function phoneAt(width, elder = false, bypassCSP = false) {
  const context = await demo.browser.newContext({
    bypassCSP,
    viewport: { width, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  if (elder) await context.addCookies([{ name: 'xw_elder', value: '1', url: base }]);
  return context.newPage();
}

/** Text that people read, set below `min` px: `[font size, text]` of each visible text node. */
function smallText(page, min) {
  return page.evaluate((min) => {
    const small = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || !el || el.closest('script, style, svg, thead')) continue;
      if (!el.getClientRects().length) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < min) small.push([size, text.slice(0, 30)]);
    }
    return small;
  }, min);
}

/** Controls in `main` and the header smaller than `min` px tall (inline links in prose excepted). */
function smallTargets(page, min) {
  return page.evaluate((min) => {
    const selector = 'header a.mode, main button, main .button, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main textarea, main .list a, main .tiles a, main a.tap, main a.call, main label.choice';
    return [...document.querySelectorAll(selector)]
      .filter((el) => el.getClientRects().length && el.getBoundingClientRect().height < min)
      .map((el) => `${el.tagName} ${(el.textContent || el.name || '').trim().slice(0, 20)} ${Math.round(el.getBoundingClientRect().height)}px`);
  }, min);
}

test('standard mode: body text 18 px and nothing a villager reads under 16 px on every public page', async () => {
  const page = await phoneAt(375);
  for (const [name, path] of Object.entries(pages)) {
    await page.goto(`${base}${path}`);
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('elder')), false);
    const body = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    assert.ok(body >= 18, `${name}: body text is ${body}px`);
    assert.deepEqual(await smallText(page, 16), [], `${name}: text under 16 px`);
  }
  await page.context().close();
});

test('长辈模式: the switch on every public page, remembered, 24 px text, 60 px targets, one column, and back', async () => {
  const page = await phoneAt(375);
  await page.goto(`${base}${pages.township}`);
  await page.screenshot({ path: join(shots, 'a11y-township-standard-375.png'), fullPage: true });
  await page.getByRole('link', { name: '长辈模式' }).click();
  await page.waitForURL(`${base}${pages.township}`);
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('elder')), true);
  await page.screenshot({ path: join(shots, 'a11y-township-elder-375.png'), fullPage: true });
  const columns = await page.locator('.tiles').evaluate((el) => getComputedStyle(el).gridTemplateColumns.split(' ').length);
  assert.equal(columns, 1, 'the menu is one column');
  for (const [name, path] of Object.entries(pages)) {
    await page.goto(`${base}${path}`);
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('elder')), true, `${name}: still elder`);
    const body = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    assert.ok(body >= 24, `${name}: body text is ${body}px`);
    assert.deepEqual(await smallText(page, 22), [], `${name}: text under 22 px in elder mode`);
    assert.deepEqual(await smallTargets(page, 60), [], `${name}: targets under 60 px`);
    await page.getByRole('link', { name: '退出长辈模式' }).waitFor();
  }
  await page.goto(`${base}${pages.roster}`);
  await page.screenshot({ path: join(shots, 'a11y-roster-elder-375.png'), fullPage: true });
  await page.getByRole('link', { name: '退出长辈模式' }).click();
  await page.waitForURL(`${base}${pages.roster}`);
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('elder')), false);
  await page.screenshot({ path: join(shots, 'a11y-roster-standard-375.png'), fullPage: true });
  await page.context().close();
});

test('长辈模式: body text at 7:1 or more (axe color-contrast-enhanced) and no axe violations on every public page', async () => {
  const page = await phoneAt(375, true);
  for (const [name, path] of Object.entries(pages)) {
    await page.goto(`${base}${path}`);
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const all = await window.axe.run(document);
      const enhanced = await window.axe.run(document, { runOnly: ['color-contrast-enhanced'] });
      return [...all.violations, ...enhanced.violations].map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(found, [], `${name} in elder mode`);
  }
  await page.context().close();
});

test('no sideways scrolling at 320 px, with 200 % text and in elder mode, on every public page', async () => {
  const cases = [
    ['320', await phoneAt(320), null],
    ['320-text200', await phoneAt(320, false, true), 'html{font-size:225%!important}'],
    ['375-text200', await phoneAt(375, false, true), 'html{font-size:225%!important}'],
    ['320-elder', await phoneAt(320, true), null],
  ];
  const wide = [];
  for (const [tag, page, style] of cases) {
    for (const [name, path] of Object.entries(pages)) {
      await page.goto(`${base}${path}`);
      if (style) await page.addStyleTag({ content: style });
      if (await overflows(page)) {
        wide.push(`${tag} ${name}`);
        await page.screenshot({ path: join(shots, `a11y-overflow-${tag}-${name}.png`), fullPage: true });
      }
    }
    await page.context().close();
  }
  assert.deepEqual(wide, [], 'pages that scroll sideways');
});

test('a roster on a phone: one card per person with name, amount, masked ID and 异议 on screen; one row number', async () => {
  for (const width of [320, 375]) {
    for (const elder of [false, true]) {
      const page = await phoneAt(width, elder);
      await page.goto(`${base}${pages.roster}`);
      const cards = await page.locator('#entries tbody tr').evaluateAll((rows) =>
        rows.map((tr) => {
          const box = (sel) => tr.querySelector(sel)?.getBoundingClientRect();
          return {
            no: tr.querySelector('td.no').textContent.trim(),
            inside: ['td.name', 'td.amount', 'td.id', 'td.act a'].every((sel) => {
              const b = box(sel);
              return b && b.width > 0 && b.left >= 0 && b.right <= window.innerWidth;
            }),
          };
        }),
      );
      assert.ok(cards.length > 0);
      assert.ok(cards.every((c) => c.inside), `${width}px elder=${elder}: every card's fields and 异议 are on screen`);
      assert.equal(await overflows(page), false);
      await page.screenshot({ path: join(shots, `a11y-roster-cards-${width}${elder ? '-elder' : ''}.png`), fullPage: true });
      if (width === 375 && !elder) {
        const second = page.locator('#entries tbody tr').nth(1);
        const number = (await second.locator('td.no').textContent()).trim();
        await second.locator('td.act a').click();
        await page.waitForURL(/\/objection\?entry=/);
        assert.match(await page.locator('main').innerText(), new RegExp(`第${number}号`), 'the objection form names the row number the list shows');
      }
      await page.context().close();
    }
  }
});

test('self-query results: dates and amounts never break inside, at 320 px in both modes', async () => {
  for (const elder of [false, true]) {
    const page = await phoneAt(320, elder);
    await page.goto(`${base}${pages.selfQuery}`);
    await page.fill('#name', seed.name);
    await page.fill('#id_number', seed.id);
    await Promise.all([page.waitForNavigation(), page.locator('main form button[type=submit]').click()]);
    await page.locator('#payments').waitFor();
    const broken = await page.locator('#payments .nowrap').evaluateAll((els) =>
      els.filter((el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
      }).map((el) => el.textContent),
    );
    assert.deepEqual(broken, [], 'no date, year or amount split across lines');
    assert.equal(await overflows(page), false);
    await page.screenshot({ path: join(shots, `a11y-self-query-result-320${elder ? '-elder' : ''}.png`), fullPage: true });
    await page.context().close();
  }
});

test('a hall terminal at 1080×1920 starts in 长辈模式 and can leave it', async () => {
  const kiosk = await demo.screen(1080, 1920);
  await kiosk.goto(`${base}${enrol}`);
  await kiosk.goto(`${base}/kiosk`);
  assert.equal(await kiosk.evaluate(() => document.documentElement.classList.contains('elder')), true);
  await kiosk.screenshot({ path: join(shots, 'a11y-kiosk-elder-1080.png') });
  await kiosk.getByRole('link', { name: '退出长辈模式' }).click();
  await kiosk.waitForURL(`${base}/kiosk`);
  assert.equal(await kiosk.evaluate(() => document.documentElement.classList.contains('elder')), false);
  assert.equal(await overflows(kiosk), false);
  await kiosk.screenshot({ path: join(shots, 'a11y-kiosk-standard-1080.png') });
  await kiosk.context().close();
});
