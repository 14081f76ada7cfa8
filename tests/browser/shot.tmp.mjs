import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const p = await b.newPage({ viewport: { width: 390, height: 844 } });
const url = process.argv[2];
await p.goto(url);
if (process.argv[4]) { await p.click(process.argv[4]); await p.waitForLoadState(); }
await p.screenshot({ path: process.argv[3], fullPage: true });
console.log(p.url());
await b.close();
