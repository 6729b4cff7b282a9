// Browser tests for 朗读 (read aloud) on a 375 px phone, in standard and elder mode and on a hall
// terminal. Speech synthesis is replaced before any page script runs (`addInitScript`) by a stub
// that records each utterance, so the tests see exactly what the device would be asked to say:
// Chinese words in zh-CN with a Chinese voice, one sentence a row, no digits. With no Chinese voice,
// or no speech synthesis at all, the page says so in its status line. Screenshots go to
// screenshots/listen-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, shots, overflows, publicPages } from './demo.mjs';

let demo;
let base;
let pages;
let seed;
let enrol;

const NO_VOICE = '这台设备没有中文语音，无法朗读。可在系统设置中添加中文语音。';

before(async () => {
  demo = await startDemo();
  base = demo.base;
  ({ pages, seed, enrol } = await publicPages(demo));
});

after(async () => {
  await demo?.stop();
});

/**
 * Runs in the page before its scripts: a speech synthesis with `voices` (or none at all when
 * `voices` is null) that records utterances in `window.__spoken` and ends them on `__finish()`.
 */
function stubSpeech(voices) {
  if (voices === null) {
    Object.defineProperty(window, 'speechSynthesis', { value: undefined, configurable: true });
    return;
  }
  window.__spoken = [];
  window.__queue = [];
  window.__cancelled = 0;
  window.SpeechSynthesisUtterance = class {
    constructor(text) { this.text = text; this.lang = ''; this.voice = null; this.rate = 1; }
  };
  const synth = {
    speaking: false,
    getVoices: () => voices,
    speak(u) {
      window.__spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name, rate: u.rate });
      window.__queue.push(u);
      synth.speaking = true;
    },
    cancel() {
      window.__cancelled += 1;
      window.__queue = [];
      synth.speaking = false;
    },
    addEventListener() {},
  };
  Object.defineProperty(window, 'speechSynthesis', { value: synth, configurable: true });
  window.__finish = () => {
    const queue = window.__queue;
    window.__queue = [];
    synth.speaking = false;
    for (const u of queue) if (u.onend) u.onend();
  };
}

const CHINESE = [
  { name: 'English', lang: 'en-US', localService: true },
  { name: '粤语', lang: 'zh-HK', localService: true },
  { name: '普通话', lang: 'zh-CN', localService: true },
];

/** A 375 px phone page with the stub installed; in elder mode if asked. */
async function phone(voices, elder = false) {
  const context = await demo.browser.newContext({
    viewport: { width: 375, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  if (elder) await context.addCookies([{ name: 'xw_elder', value: '1', url: base }]);
  await context.addInitScript(stubSpeech, voices);
  return context.newPage();
}

const spoken = (page) => page.evaluate(() => window.__spoken);

/** The first sentence is the page's heading: every word of it, its numbers in words. */
async function assertTitleFirst(page, first) {
  const words = (await page.locator('h1').innerText()).split(/[\s\d]+/).filter(Boolean);
  assert.ok(words.length && words.every((w) => first.includes(w)), `${words} in ${first}`);
}

test('朗读 on a roster: zh-CN words with the Chinese voice, a sentence per row, and 停止', async () => {
  const page = await phone(CHINESE);
  await page.goto(`${base}${pages.roster}`);
  const button = page.getByRole('button', { name: '朗读本页' });
  await button.waitFor();
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'listen-roster-375.png') });
  await button.click();
  await page.waitForFunction(() => window.__spoken.length > 0);
  const said = await spoken(page);
  assert.ok(said.every((u) => u.lang === 'zh-CN' && u.voice === '普通话'), JSON.stringify(said.slice(0, 3)));
  const text = said.map((u) => u.text);
  await assertTitleFirst(page, text[0]);
  assert.ok(text.some((t) => /^第一行，\S+，身份证尾号[〇一二三四五六七八九叉]{4}，/.test(t)), text.slice(0, 8).join('\n'));
  assert.ok(text.every((t) => !/[0-9]/.test(t)), 'no digits are spoken');
  assert.ok(text.some((t) => /^共[一二三四五六七八九十百千万零]+人，合计.+元/.test(t)), 'the total in 元');
  assert.equal(await page.locator('#listen-button').innerText(), '停止朗读');
  assert.match(await page.locator('#listen-status').innerText(), /正在朗读/);
  await page.screenshot({ path: join(shots, 'listen-roster-reading-375.png') });

  await page.getByRole('button', { name: '停止朗读' }).click();
  assert.equal(await page.locator('#listen-button').innerText(), '朗读本页');
  assert.equal(await page.locator('#listen-status').innerText(), '已停止朗读。');
  assert.ok((await page.evaluate(() => window.__cancelled)) > 0, 'stopping cancels the speech');

  // By keyboard, to the end.
  await page.locator('#listen-button').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.__queue.length > 0);
  await page.evaluate(() => window.__finish());
  assert.equal(await page.locator('#listen-status').innerText(), '朗读完毕。');
  assert.equal(await page.locator('#listen-button').innerText(), '朗读本页');
  await page.context().close();
});

test('朗读 of a self-query result and a disclosure, in elder mode with 60 px targets', async () => {
  const page = await phone(CHINESE, true);
  await page.goto(`${base}${pages.selfQuery}`);
  await page.getByLabel('姓名').fill(seed.name);
  await page.getByLabel(/身份证号/).fill(seed.id);
  await page.getByRole('button', { name: '查询' }).click();
  await page.getByRole('heading', { name: `${seed.name} 的补贴记录` }).waitFor();
  const button = page.getByRole('button', { name: '朗读本页' });
  const box = await button.boundingBox();
  assert.ok(box.height >= 60, `the button is ${box.height}px tall in elder mode`);
  assert.equal(await overflows(page), false);
  await page.screenshot({ path: join(shots, 'listen-self-query-elder-375.png') });
  await button.click();
  await page.waitForFunction(() => window.__spoken.length > 0);
  const said = await spoken(page);
  const tail = seed.id.slice(14).replace(/X/g, '叉').replace(/\d/g, (d) => '〇一二三四五六七八九'[d]);
  assert.equal(said[0].text, `${seed.name}的补贴记录，身份证尾号${tail}。`);
  assert.ok(said.some((u) => /未见发放记录/.test(u.text)), 'the unpaid years are read');
  assert.ok(said.some((u) => /二〇一四至二〇一八年/.test(u.text)), said.map((u) => u.text).join('\n'));
  assert.ok(said.every((u) => !/[0-9]/.test(u.text) && u.rate < 0.9), 'words, read slowly in elder mode');

  await page.goto(`${base}${pages.disclosure}`);
  await page.getByRole('button', { name: '朗读本页' }).click();
  await page.waitForFunction(() => window.__spoken.length > 0);
  const disclosure = await spoken(page);
  await assertTitleFirst(page, disclosure[0].text);
  assert.ok(disclosure.every((u) => !/[0-9]/.test(u.text)));
  await page.screenshot({ path: join(shots, 'listen-disclosure-elder-375.png') });
  await page.context().close();
});

test('without a Chinese voice, or without speech synthesis, the page says so', async () => {
  for (const [voices, tag] of [[[{ name: 'English', lang: 'en-US', localService: true }], 'no-zh'], [null, 'no-speech']]) {
    const page = await phone(voices);
    await page.goto(`${base}${pages.roster}`);
    await page.getByRole('button', { name: '朗读本页' }).click();
    const status = page.locator('#listen-status');
    await page.waitForFunction(() => document.getElementById('listen-status').textContent.includes('中文语音'));
    assert.equal(await status.innerText(), NO_VOICE);
    assert.equal(await status.getAttribute('role'), 'status', 'announced by screen readers');
    assert.equal(await page.locator('#listen-button').innerText(), '朗读本页');
    if (voices) assert.deepEqual(await spoken(page), [], 'nothing is spoken in another language');
    await page.screenshot({ path: join(shots, `listen-${tag}-375.png`) });
    await page.context().close();
  }
});

test('a hall terminal reads aloud too, and the button is a large target', async () => {
  const context = await demo.browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true, locale: 'zh-CN' });
  await context.addInitScript(stubSpeech, CHINESE);
  const kiosk = await context.newPage();
  await kiosk.goto(`${base}${enrol}`);
  await kiosk.goto(`${base}${pages.roster}`);
  const button = kiosk.getByRole('button', { name: '朗读本页' });
  const box = await button.boundingBox();
  assert.ok(box.height >= 60, `the button is ${box.height}px tall on the terminal`);
  await button.click();
  await kiosk.waitForFunction(() => window.__spoken.length > 0);
  assert.ok((await spoken(kiosk)).every((u) => u.lang === 'zh-CN'));
  await kiosk.screenshot({ path: join(shots, 'listen-kiosk-1080.png') });
  await context.close();
});
