import { chromium } from 'playwright-core';
const base = 'http://127.0.0.1:18200';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
await page.goto(base + '/t/620922214/subsidies?village=620922214200');
await page.screenshot({ path: '/tmp/shots/village-top.png' });
await page.goto(base + '/rosters/217');
await page.screenshot({ path: '/tmp/shots/r217-top.png' });
await browser.close();
