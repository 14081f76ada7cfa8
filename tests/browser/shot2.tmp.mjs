import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const p = await b.newPage({ viewport: { width: 1280, height: 900 } });
const base = 'http://127.0.0.1:8099';
await p.goto(`${base}/login`);
await p.getByLabel('Email').fill(process.argv[2]);
await p.getByLabel('Password').fill('riverside-demo');
await p.getByRole('button', { name: 'Sign in' }).click();
await p.waitForURL(`${base}/app`);
for (let i = 3; i < process.argv.length; i += 2) {
  const r = await p.goto(base + process.argv[i]);
  console.log(process.argv[i], r.status());
  await p.screenshot({ path: process.argv[i+1], fullPage: false });
}
await b.close();
