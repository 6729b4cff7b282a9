// Shared start-up for the browser tests: runs the real `xiaowei demo` binary on a free port with
// a fresh data folder, launches Debian's Chromium, and opens phone-sized pages (360×740).

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** Where screenshots go (gitignored). */
export const shots = join(here, 'screenshots');

const binary = process.env.XIAOWEI_BIN ?? join(root, 'target', 'debug', 'xiaowei');

/**
 * Starts `xiaowei demo` and Chromium. Resolves with `{ base, output, browser, phone, screen, stop, dataDir }`:
 * `base` is the server's URL, `output` everything the demo printed up to (and including) the
 * address line, `dataDir` the demo's data folder (its SQLite file is `xiaowei.db`), `phone()` opens a page in a fresh phone-sized context, `screen(width, height)` one
 * in a fresh touch-screen context of that size (the hall terminals), `stop()` cleans up.
 */
export async function startDemo() {
  mkdirSync(shots, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'xiaowei-browser-'));
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.XIAOWEI_DATABASE_URL;
  const server = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let browser;
  const stop = async () => {
    await browser?.close();
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const base = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 120_000);
      server.stdout.on('data', (chunk) => {
        output += chunk;
        // The configured address (port 0) may be printed too: take the first bound one.
        const match = [...output.matchAll(/http:\/\/(127\.0\.0\.1:(\d+))\//g)].find((m) => m[2] !== '0');
        if (match) {
          clearTimeout(timer);
          resolve(`http://${match[1]}`);
        }
      });
      server.stderr.on('data', (chunk) => { output += chunk; });
      server.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`demo exited with ${code}:\n${output}`));
      });
    });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const phone = async () => {
      const context = await browser.newContext({
        viewport: { width: 360, height: 740 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: 'zh-CN',
      });
      return context.newPage();
    };
    const screen = async (width, height) => {
      const context = await browser.newContext({
        viewport: { width, height },
        screen: { width, height },
        deviceScaleFactor: 1,
        hasTouch: true,
        locale: 'zh-CN',
      });
      return context.newPage();
    };
    return { base, output, browser, phone, screen, stop, dataDir };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Whether the page body scrolls sideways (it must not on a phone; tables scroll inside `.scroll`).
 * Compared with the configured viewport width, not `innerWidth`: with mobile emulation the layout
 * viewport widens to fit overflowing content, so `innerWidth` grows along with `scrollWidth`.
 */
export async function overflows(page) {
  const width = page.viewportSize().width;
  return page.evaluate((width) => document.documentElement.scrollWidth > Math.min(width, window.innerWidth), width);
}

/** The first link on the page at `base + path` whose address matches `pattern`. */
async function firstLink(base, path, pattern) {
  const html = await (await fetch(`${base}${path}`)).text();
  const found = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]).find((href) => pattern.test(href));
  if (!found) throw new Error(`${path} links to nothing like ${pattern}`);
  return found.replaceAll('&amp;', '&');
}

/**
 * Every public page of the demo by name (paths), plus `seed` (the self-query example's name and
 * ID) and `enrol` (the printed one-time kiosk enrolment path).
 */
export async function publicPages(demo) {
  const { base, output } = demo;
  const printed = (pattern, what) => {
    const m = output.match(pattern);
    if (!m) throw new Error(`the demo does not print ${what}:\n${output}`);
    return m.slice(1);
  };
  const T = '620922214';
  const service = await firstLink(base, `/t/${T}/services`, /^\/services\/\d+\?t=\d+$/);
  const [seedName, seedId] = printed(/自助查询示例：(\S+) (\d{17}[\dX])/, 'the self-query example');
  return {
    pages: {
      county: '/',
      township: `/t/${T}`,
      village: `/t/${T}/v/${T}200`,
      subsidies: `/t/${T}/subsidies`,
      powers: `/t/${T}/powers`,
      disclosures: `/t/${T}/disclosures`,
      services: `/t/${T}/services`,
      messages: `/t/${T}/messages`,
      roster: printed(/公示期内的拟发放名单（含异议）：(\/rosters\/\d+)/, 'the roster in publicity')[0],
      paidRoster: printed(/有差异说明的发放结果：(\/rosters\/\d+)/, 'the paid roster')[0],
      selfQuery: `/t/${T}/self-query`,
      disclosure: printed(/有两个版本的工程项目公示：(\/disclosures\/\d+)/, 'a disclosure')[0],
      power: await firstLink(base, `/t/${T}/powers`, /^\/powers\/\d+$/),
      service,
      apply: service.replace('?', '/apply?'),
      powerRecord: await firstLink(base, `/t/${T}/powers`, /^\/power-records\/\d+$/),
      messageForm: `/t/${T}/messages/new`,
      caseLookup: '/cases',
      messageLookup: '/messages',
      objectionLookup: '/objections',
      objectionLookupError: '/objections?code=ZZZZ9999',
      objectionForm: `/objections/new?village=${T}200`,
      search: `/t/${T}/search?q=${encodeURIComponent('补贴')}`,
      ledger: '/ledger',
      board: '/board',
    },
    seed: { name: seedName, id: seedId },
    enrol: printed(/触摸终端登记链接（[^）]*）：(\/kiosk\/enrol\/[0-9a-f]{64})/, 'a kiosk enrolment link')[0],
  };
}

/**
 * Proves `number` on the 验证手机号 page the page is on, as a villager does: asks for a code and
 * types back the one the demo shows (it has no SMS provider), then waits to leave the page.
 */
export async function provePhone(page, number) {
  await page.waitForURL(/\/phone\?/);
  await page.getByLabel('手机号').fill(number);
  await page.getByRole('button', { name: '获取短信验证码' }).click();
  const code = (await page.locator('#shown-code strong').textContent()).trim();
  await page.getByLabel(/短信验证码/).fill(code);
  await page.getByRole('button', { name: '确认' }).click();
  await page.waitForURL((url) => url.pathname !== '/phone' && url.pathname !== '/phone/confirm');
}
