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
        const match = output.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
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
