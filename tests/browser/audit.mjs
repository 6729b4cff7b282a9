// Lighthouse (mobile) and axe-core over every public page of the demo (run by scripts/test after the
// other browser tests: `CHROME_PATH=/usr/bin/chromium node --test audit.mjs`): each page must score at
// least 95 on performance, accessibility, best practices and SEO, and axe must find nothing.
// One Chromium serves both: Lighthouse drives it through puppeteer (its own dependency), axe is
// injected through playwright-core. Hall-terminal pages are audited on a second host name
// (`localhost`), so the terminal's device cookie and service worker never touch the phone pages.
// Scores and violations are written to screenshots/audit.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import lighthouse, { startFlow } from 'lighthouse';
import puppeteer from 'puppeteer-core';
import { chromium } from 'playwright-core';
import { startDemo, shots, publicPages } from './demo.mjs';

const MIN_SCORE = 95;
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let demo;
let base;
let kioskBase;
let chrome;
let port;
let paths;
let seed;
let enrol;
const results = [];

/** A free TCP port for Chromium's remote debugging. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

before(async () => {
  demo = await startDemo();
  base = demo.base;
  kioskBase = base.replace('127.0.0.1', 'localhost');
  ({ pages: paths, seed, enrol } = await publicPages(demo));

  port = await freePort();
  chrome = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: [...FLAGS, `--remote-debugging-port=${port}`],
  });
  // Enrol the terminal on the second host name, in the browser's default profile that Lighthouse uses.
  const cdp = await puppeteer.connect({ browserURL: `http://127.0.0.1:${port}` });
  const page = await cdp.newPage();
  await page.goto(`${kioskBase}${enrol}`);
  await page.close();
  await cdp.disconnect();
});

after(async () => {
  writeFileSync(join(shots, 'audit.json'), JSON.stringify(results, null, 2));
  await chrome?.close();
  await demo?.stop();
});

/** Lighthouse's four scores (0–100) for one navigation; `submit` drives a form post instead of a load. */
async function lighthouseScores(url, submit) {
  const flags = {
    onlyCategories: CATEGORIES,
    disableStorageReset: true,
    logLevel: 'error',
    chromeFlags: FLAGS,
  };
  let lhr;
  if (!submit) {
    ({ lhr } = await lighthouse(url, { ...flags, port }));
  } else {
    const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${port}` });
    const page = await browser.newPage();
    try {
      await page.goto(url);
      const flow = await startFlow(page, { flags });
      await flow.startNavigation();
      await submit(page);
      await flow.endNavigation();
      lhr = (await flow.createFlowResult()).steps[0].lhr;
    } finally {
      await page.close();
      await browser.disconnect();
    }
  }
  const scores = Object.fromEntries(CATEGORIES.map((c) => [c, Math.round((lhr.categories[c]?.score ?? 0) * 100)]));
  const failing = Object.values(lhr.audits)
    .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode === 'binary')
    .map((a) => a.id);
  return { scores, failing };
}

/** Axe's violations on a page at 375 px, after `submit` if given. */
async function axeViolations(url, submit) {
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  const context = browser.contexts()[0];
  const page = await context.newPage();
  try {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(url);
    if (submit) await submit(page);
    // Evaluated through the DevTools protocol: the pages' Content-Security-Policy allows no inline script.
    await page.evaluate(axeSource);
    const { violations, passes } = await page.evaluate(async () => {
      const r = await window.axe.run(document);
      return { violations: r.violations, passes: r.passes.length };
    });
    assert.ok(passes > 10, `axe ran its rules on ${url} (${passes} passed)`);
    return violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  } finally {
    await page.close();
    await browser.close();
  }
}

/** Fills the phone self-query form with the demo's seed villager and submits it (puppeteer or playwright page). */
async function submitSelfQuery(page) {
  await page.type('input[name=name]', seed.name);
  await page.type('input[name=id_number]', seed.id);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
}

const PAGES = [
  ['county', () => paths.county],
  ['township', () => paths.township],
  ['village', () => paths.village],
  ['subsidies list', () => paths.subsidies],
  ['powers list', () => paths.powers],
  ['disclosures list', () => paths.disclosures],
  ['services list', () => paths.services],
  ['messages list', () => paths.messages],
  ['roster in publicity', () => paths.roster],
  ['paid roster', () => paths.paidRoster],
  ['self-query form', () => paths.selfQuery],
  ['self-query result', () => paths.selfQuery, submitSelfQuery],
  ['disclosure', () => paths.disclosure],
  ['power item', () => paths.power],
  ['power record', () => paths.powerRecord],
  ['service item', () => paths.service],
  ['application form', () => paths.apply],
  ['message form', () => paths.messageForm],
  ['case tracking lookup', () => paths.caseLookup],
  ['message tracking lookup', () => paths.messageLookup],
  ['objection lookup', () => paths.objectionLookup],
  ['general objection form', () => paths.objectionForm],
  ['search', () => paths.search],
  ['ledger', () => paths.ledger],
  ['board', () => paths.board],
  ['kiosk home', () => '/kiosk', null, true],
  ['kiosk self-query', () => '/kiosk/self-query', null, true],
  ['kiosk roster', () => paths.roster, null, true],
  ['kiosk message form', () => `${paths.messageForm}?kind=question`, null, true],
];

for (const [name, path, submit, kiosk] of PAGES) {
  test(`${name}: Lighthouse ≥ ${MIN_SCORE} on all four axes and no axe violations`, async () => {
    const url = `${kiosk ? kioskBase : base}${path()}`;
    const { scores, failing } = await lighthouseScores(url, submit);
    const violations = await axeViolations(url, submit);
    results.push({ name, url, scores, failing, violations });
    console.log(`${name}: ${CATEGORIES.map((c) => `${c} ${scores[c]}`).join(', ')}; axe ${violations.length}`);
    const low = CATEGORIES.filter((c) => scores[c] < MIN_SCORE);
    assert.deepEqual(low, [], `${url}: below ${MIN_SCORE}: ${JSON.stringify(scores)}; failing audits: ${failing.join(', ')}`);
    assert.deepEqual(violations, [], `${url}: axe violations`);
  });
}

/** Fills `fields` (selector → value) and submits the page's main form. */
function filled(fields) {
  return async (page) => {
    for (const [selector, value] of Object.entries(fields)) await page.fill(selector, value);
    await Promise.all([page.waitForNavigation(), page.locator('main form.stack button[type=submit]').first().click()]);
  };
}

// Error states answer 404 or 400, which Lighthouse does not score; axe checks them.
const ERROR_STATES = [
  ['objection lookup, unknown code', () => paths.objectionLookupError],
  ['self-query, wrong check digit', () => paths.selfQuery, () => filled({ '#name': seed.name, '#id_number': `${seed.id.slice(0, 17)}${seed.id.endsWith('0') ? '1' : '0'}` })],
  ['case lookup, empty', () => paths.caseLookup, () => filled({ '#tracking': 'BJ1' })],
  ['message lookup, empty', () => paths.messageLookup, () => filled({ '#tracking': 'LY1' })],
  ['objection form, empty', () => paths.objectionForm, () => filled({ '#name': '张' })],
  ['message form, too short', () => `${paths.messageForm}?kind=question`, () => filled({ '#body': '短', '#name': '老马' })],
];

for (const [name, path, submit] of ERROR_STATES) {
  test(`${name}: no axe violations`, async () => {
    const url = `${base}${path()}`;
    const violations = await axeViolations(url, submit?.());
    results.push({ name, url, violations });
    console.log(`${name}: axe ${violations.length}`);
    assert.deepEqual(violations, [], `${url}: axe violations`);
  });
}
