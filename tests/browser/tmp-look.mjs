import { chromium } from 'playwright-core';
const base = 'http://127.0.0.1:18200';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 1 });
for (const [name, path] of [['subsidies', '/t/620922214/subsidies'], ['village', '/t/620922214/subsidies?village=620922214200'], ['roster49', '/rosters/49'], ['roster217', '/rosters/217']]) {
  await page.goto(base + path);
  await page.screenshot({ path: `/tmp/shots/${name}.png`, fullPage: true });
}
await page.goto(base + '/t/620922214/self-query');
await page.fill('#name', '马玉兰');
await page.fill('#id_number', '620922196203151248');
await page.check('input[name=household]');
await page.click('button[type=submit]');
await page.screenshot({ path: '/tmp/shots/selfquery.png', fullPage: true });
await browser.close();
