// Browser test for the ledger's witnesses (见证方) on a phone (360×740): a real witness
// (`xiaowei witness serve`) follows the demo's ledger, the platform is configured with it and with
// a second witness that never answers; once the first has cosigned, 核验 on a leaf's page verifies
// its cosignature with WebCrypto and says 「已由 1 个见证方确认」, naming the one not yet confirmed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { shots, overflows } from './demo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.XIAOWEI_BIN ?? join(here, '..', '..', 'target', 'debug', 'xiaowei');
const env = { ...process.env, XIAOWEI_LOG: 'warn' };
delete env.DATABASE_URL;
delete env.XIAOWEI_DATABASE_URL;
delete env.XIAOWEI_CONFIG;

let dataDir;
let children = [];
let browser;
let base;

function run(args) {
  const r = spawnSync(binary, args, { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r;
}

// Starts `args` and resolves with the http://127.0.0.1:port it prints.
function start(args) {
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${output}`)), 60_000);
    const read = (chunk) => {
      output += chunk;
      const m = [...output.matchAll(/http:\/\/(127\.0\.0\.1:(\d+))\//g)].find((found) => found[2] !== '0');
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${output}`)));
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'xiaowei-witness-'));
  run(['demo', '--load-only', '--data-dir', dataDir]);
  const vkey = run(['ledger', 'checkpoint', '--data-dir', dataDir]).stderr.match(/公钥：(\S+)/)[1];
  const wdir = join(dataDir, 'witness');
  const wkey = run(['witness', 'key', '--data-dir', wdir, '--name', 'jw.example.gov.cn/witness']).stdout.trim();
  const silent = run(['witness', 'key', '--data-dir', join(dataDir, 'silent'), '--name', 'yq.example.gov.cn/witness'])
    .stdout.trim();
  const wurl = await start(['witness', 'serve', '--data-dir', wdir, '--listen', '127.0.0.1:0', '--log', vkey]);
  const config = join(dataDir, 'xiaowei.toml');
  writeFileSync(config, [
    '[[witnesses]]', 'name = "县纪委监委"', `url = "${wurl}"`, `vkey = "${wkey}"`,
    '[[witnesses]]', 'name = "渊泉镇"', 'url = "http://127.0.0.1:9"', `vkey = "${silent}"`, '',
  ].join('\n'));
  base = await start(['serve', '--config', config, '--listen', '127.0.0.1:0', '--data-dir', dataDir]);
  // The workers submit the checkpoint in the background: wait for the cosignature.
  for (let i = 0; i < 150; i++) {
    const text = await (await fetch(`${base}/ledger/checkpoint`)).text();
    if (text.includes('\n\u2014 jw.example.gov.cn/witness ')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

async function phone() {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
  });
  return context.newPage();
}

test('核验 verifies the witness cosignature and names the witness that has not confirmed', async () => {
  const page = await phone();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/ledger/leaves/0`);
  const box = page.locator('#verify[data-result]');
  await box.waitFor({ timeout: 30_000 });
  const steps = await page.locator('#steps').textContent();
  assert.equal(await box.getAttribute('data-result'), 'match', steps);
  assert.match(steps, /已由 1 个见证方确认（共 2 个）：县纪委监委/);
  assert.match(steps, /尚未确认当前检查点的见证方：渊泉镇/);
  await page.screenshot({ path: join(shots, 'ledger-witnesses.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('the ledger page lists the witnesses and their keys', async () => {
  const page = await phone();
  await page.goto(`${base}/ledger`);
  const text = await page.locator('#witnesses').textContent();
  assert.match(text, /当前检查点已由 1 个见证方确认/);
  assert.match(text, /县纪委监委\s*已确认当前检查点/);
  assert.match(text, /渊泉镇\s*尚未确认/);
  assert.equal(await overflows(page), false);
});
