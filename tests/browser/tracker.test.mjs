// The tracker in a real browser: a clinic's page (served here under the demo site's domain) loads
// /js/stride.js from Stride, a visitor navigates, taps the phone number, fills in and submits a
// form and triggers a custom event; the owner then sees each of those in the Website section.
// (The test page's phone link cancels its own navigation: a headless browser has no dialer, and a
// pending tel: navigation would block the form's.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.STRIDE_BIN || '../../target/debug/stride';
const DOMAIN = 'riversidept.example';
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
let stride, base, dataDir, site, sitePort, browser;
// Copies of the beacons a test page sends (see the first test), as the clinic's server received them.
const beacons = [];

const freePort = () => new Promise((resolve) => {
  const s = netServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function clinicPage(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<script defer data-domain="${DOMAIN}" src="${base}/js/stride.js"></script></head>
<body style="min-height:3000px"><h1>${title}</h1>${body}</body></html>`;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'stride-tracker-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stride = spawn(BIN, ['--data-dir', dataDir, 'demo', '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  sitePort = await freePort();
  site = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/beacon-copy') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { beacons.push(body); res.end(); });
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.url.startsWith('/book')) {
      res.end(clinicPage('Book an evaluation', `<p>Tell us what brings you in.</p>
<iframe src="${base}/p/riverside/request?embed=1" title="Request an appointment" style="width:100%;max-width:560px;height:980px;border:0"></iframe>`));
    } else if (req.url.startsWith('/contact')) {
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Contact</title>
<script defer data-domain="${DOMAIN}" src="${base}/js/stride-numbers.js"></script></head>
<body><h1>Contact Riverside</h1><p id="downtown">Downtown: <a id="tel" href="tel:+16305550142">(630) 555-0142</a>, or text 630.555.0142</p>
<p id="lakewood">Lakewood: <a href="tel:+13035550187">(303) 555-0187</a></p></body></html>`);
    } else if (req.url.startsWith('/thank-you')) {
      // The page reports an event in its own HTML, before the deferred tracker has loaded, through
      // the stub the set-up page gives.
      res.end(clinicPage('Thank you', `<p>We will call you within one business day.</p>
<script>window.stride=window.stride||function(){(stride.q=stride.q||[]).push(arguments)}</script>
<script>stride('Request Confirmed', {props: {via: 'thank-you page'}})</script>`));
    } else {
      res.end(clinicPage('Riverside Physical Therapy', `
        <p>Call us: <a id="call" href="tel:+16305550142" onclick="event.preventDefault()">(630) 555-0142</a></p>
        <p id="insurers"><img id="badge" alt="Riverside test badge: Cigna accepted" width="160" height="48"
          src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='160' height='48'%3E%3Crect width='160' height='48' fill='%23eee'/%3E%3C/svg%3E"></p>
        <button id="spa" onclick="history.pushState({}, '', '/services/back-pain')">Back pain</button>
        <button id="custom" data-stride-event="Guide Download" data-stride-prop-guide="back-pain">Get the guide</button>
        <form id="request" action="/thank-you" method="get">
          <label>Name <input name="name"></label>
          <label>Phone <input name="phone"></label>
          <button type="submit">Request appointment</button>
        </form>`));
    }
  });
  await new Promise((r) => site.listen(sitePort, '127.0.0.1', r));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      `--host-resolver-rules=MAP ${DOMAIN} 127.0.0.1`],
  });
});

after(async () => {
  await browser?.close();
  site?.close();
  if (stride) { stride.kill('SIGTERM'); await new Promise((r) => stride.once('exit', r)); }
  rmSync(dataDir, { recursive: true, force: true });
});

test('a visit on the clinic site shows up in the Website section', async () => {
  const visitor = await browser.newContext({ userAgent: CHROME_UA });
  const page = await visitor.newPage();
  // Beacon bodies are not visible to the browser's request events, and a page being left cannot
  // call back into the test in time: the page sends a copy of each beacon to the clinic's server.
  await page.addInitScript(() => {
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, blob) => { beacon('/beacon-copy', blob); return beacon(url, blob); };
  });
  const sent = () => beacons.map((b) => JSON.parse(b));
  const until = async (what, done) => {
    for (let i = 0; i < 50 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(done(), `${what}: ${beacons.join('\n')}`);
  };
  const path = (u) => new URL(u).pathname;
  const engagements = (p) => sent().filter((b) => b.n === 'engagement' && path(b.u) === p);
  // The demo records a heatmap of the home page, so the click script loads there.
  const clicksLoaded = page.waitForResponse((r) => r.url().endsWith('/js/stride-clicks.js'));
  await page.goto(`http://${DOMAIN}:${sitePort}/?utm_source=flyer&utm_medium=qr&utm_campaign=spring-open-house`);
  await page.waitForFunction(() => typeof window.stride === 'function');
  await clicksLoaded;
  await page.waitForTimeout(300);
  // A click on something that does nothing is a dead click, reported after a second of no change.
  await page.click('#badge');
  await page.waitForTimeout(1400);
  await until('a dead click was sent', () => sent().some((b) => b.k === 'dead' && b.l === 'Riverside test badge: Cigna accepted'));
  await page.mouse.wheel(0, 2500);
  await page.waitForFunction(() => scrollY + innerHeight >= document.documentElement.scrollHeight - 1);
  await page.click('#call');
  await page.click('#custom');
  // A single-page-app navigation; the visitor reads the new page for over a second, then sends the form.
  await page.click('#spa');
  await page.waitForTimeout(1200);
  await page.evaluate(() => window.stride('Appointment Request', { props: { service: 'back pain' } }));
  await page.fill('input[name=name]', 'Jordan Example');
  await page.fill('input[name=phone]', '(630) 555-0199');
  assert.equal(engagements('/services/back-pain').length, 0, 'nothing is filed under /services/back-pain before it is left');
  await Promise.all([page.waitForURL(/thank-you/), page.click('button[type=submit]')]);
  await until('the event queued before the tracker loaded was sent', () =>
    sent().some((b) => b.n === 'Request Confirmed' && b.p && b.p.via === 'thank-you page' && path(b.u) === '/thank-you'));
  await visitor.close();

  // The time on the home page and how far it was scrolled go with the home page, although the
  // address has changed when they are sent; the next page's are sent as the form leaves it. (Here
  // Stride counts that last beacon as a bot's: Chromium sends a beacon from a page being left with
  // its own user agent, HeadlessChrome, not the one the test gives the context.)
  await until('the engagement of /services/back-pain was sent', () => engagements('/services/back-pain').length > 0);
  assert.equal(engagements('/').length, 1, 'the home page engagement is filed under the home page');
  assert.equal(engagements('/services/back-pain').length, 1, 'one engagement for /services/back-pain');
  const [home] = engagements('/'), [services] = engagements('/services/back-pain');
  assert.match(home.u, /utm_campaign=spring-open-house/, 'with the address the page was shown at');
  assert.ok(home.sd >= 80, `the home page was scrolled to the bottom: ${home.sd}`);
  assert.ok(home.e > 1000, `time on the home page: ${home.e}`);
  assert.ok(services.e > 1000, `time on /services/back-pain: ${services.e}`);
  const payload = beacons.join('\n');
  assert.ok(!payload.includes('Jordan') && !payload.includes('555-0199'), 'no form value leaves the page');

  // The owner sees the visit, its pages and its source.
  const owner = await browser.newContext();
  const app = await owner.newPage();
  await app.goto(`${base}/login`);
  await app.getByLabel('Email').fill('owner@riversidept.example');
  await app.getByLabel('Password').fill('riverside-demo');
  await Promise.all([app.waitForURL(`${base}/app`), app.getByRole('button', { name: 'Sign in' }).click()]);
  let text = '';
  for (let i = 0; i < 50; i++) {
    await app.goto(`${base}/app/website/setup`);
    text = await app.locator('main').innerText();
    if (text.includes('/thank-you') && text.includes('Form Submit') && text.includes('Request Confirmed')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const s of ['Phone Call', 'Guide Download', 'Appointment Request', 'Form Start', 'Form Submit', 'Request Confirmed', '/services/back-pain', '/thank-you', 'flyer', 'Offline']) {
    assert.ok(text.includes(s), `the Website section shows ${s}: ${text}`);
  }
  assert.ok(!text.includes('Jordan'));
  const cells = async (table, first) =>
    (await table.getByRole('row').filter({ has: app.getByRole('cell', { name: first, exact: true }) }).innerText())
      .split('\t').map((c) => c.trim());

  // The dashboard, narrowed to this visit's campaign (the demo has none by that name): its channel,
  // source and campaign, and the goals it reached.
  await app.goto(`${base}/app/website?campaign=spring-open-house`);
  text = await app.locator('main').innerText();
  assert.ok(text.includes('Showing only: Campaign: spring-open-house'), `filtered by campaign: ${text}`);
  // Visitors, change from the previous period (none: the campaign is new), leads and rate.
  for (const [region, row] of [['Channels', 'Offline outbound'], ['Sources', 'flyer'], ['Campaigns', 'spring-open-house'], ['Landing pages', '/']]) {
    assert.deepEqual(await cells(app.getByRole('region', { name: region }), row), [row, '1', '', '1', '100.0%'], `${region}: ${row}`);
  }
  const goals = app.locator('table').filter({ has: app.getByRole('columnheader', { name: 'Converting visitors' }) });
  for (const [goal, kind] of [['Reached the thank-you page', 'Lead action'], ['Call tap', 'Lead action'],
    ['Appointment request', 'Lead action'], ['Back pain guide download', 'Early interest']]) {
    assert.deepEqual((await cells(goals, goal)).slice(0, 4), [goal, kind, '1', '1'], `the goal ${goal} was reached once`);
  }
  // One visitor is too few to give a rate its benchmark band; a month of the demo's traffic is not.
  assert.match((await cells(goals, 'Call tap'))[4], /too few visitors to judge/);
  await app.screenshot({ path: join(process.env.STRIDE_SCREENSHOTS || '../../target/screenshots', 'website.png'), fullPage: true });
  await app.goto(`${base}/app/website`);
  assert.match((await cells(goals, 'Appointment request'))[4],
    /^\d+\.\d% (Needs attention|Below typical|Healthy|Strong|High-performing)$/, 'judged against the bands');

  // The heatmap of the home page ranks the dead click with a suggestion for that element.
  await app.goto(`${base}/app/website/heatmaps`);
  await Promise.all([app.waitForURL(/heatmaps\/\d+/), app.getByRole('link', { name: 'Home page', exact: true }).click()]);
  const dead = app.locator('table').filter({ has: app.getByRole('columnheader', { name: 'Suggestion' }) })
    .getByRole('row').filter({ hasText: 'Riverside test badge' });
  assert.equal(await dead.count(), 1, `the dead click is listed: ${await app.locator('main').innerText()}`);
  const [element, clicks, advice] = (await dead.innerText()).split('\t').map((c) => c.trim());
  assert.equal(element.replace(/\s+/g, ' '), '“Riverside test badge: Cigna accepted” element #badge');
  assert.equal(clicks, '1');
  assert.match(advice, /link this to the insurance page/, 'a dead insurer logo comes with advice');
  await app.screenshot({ path: join(process.env.STRIDE_SCREENSHOTS || '../../target/screenshots', 'heatmap.png'), fullPage: true });
  // Drawn over the live page, the page behind the clicks is scaled to the map's width once the
  // layout has settled, and again when the window changes.
  await app.getByLabel('Draw over the live page').check();
  await Promise.all([app.waitForURL(/page=1/), app.getByRole('button', { name: 'Show' }).click()]);
  const fits = () => app.evaluate(() => {
    const f = document.querySelector('iframe.heat-page');
    return Math.abs(f.getBoundingClientRect().width - f.parentElement.clientWidth);
  });
  await app.waitForFunction(() => document.querySelector('iframe.heat-page') !== null);
  assert.ok(await fits() < 2, 'the live page spans the map');
  await app.setViewportSize({ width: 700, height: 900 });
  await app.waitForTimeout(100);
  assert.ok(await fits() < 2, 'and still does in a narrower window');
  await app.setViewportSize({ width: 1280, height: 720 });

  // The form was filled in on /services/back-pain: recording that page shows its starts and sends.
  await app.goto(`${base}/app/website/setup`);
  await app.getByLabel('Record clicks on').fill('/services/back-pain');
  await Promise.all([app.waitForURL(/\/app\/website\/setup/), app.getByRole('button', { name: 'Start recording' }).click()]);
  await app.goto(`${base}/app/website/heatmaps`);
  await Promise.all([app.waitForURL(/heatmaps\/\d+/), app.getByRole('link', { name: 'Page /services/back-pain', exact: true }).click()]);
  const forms = app.locator('table').filter({ has: app.getByRole('columnheader', { name: 'Abandoned' }) });
  assert.deepEqual(await cells(forms, 'request'), ['request', '1', '1', '0%'], 'the form was started and sent');
  await owner.close();
});

test('each visitor sees a tracking number in place of the main line, the same one on every page', async () => {
  const swapped = async (page) => {
    await page.waitForFunction(() => !document.getElementById('downtown').innerText.includes('555-0142'));
    return {
      text: await page.locator('#downtown').innerText(),
      tel: await page.locator('#tel').getAttribute('href'),
      lakewood: await page.locator('#lakewood').innerText(),
    };
  };
  const visitor = await browser.newContext({ userAgent: CHROME_UA });
  const page = await visitor.newPage();
  await page.goto(`http://${DOMAIN}:${sitePort}/contact`);
  const first = await swapped(page);
  const pool = first.tel.replace('tel:', '');
  assert.match(pool, /^\+1872555015\d$/, `a website pool number: ${first.tel}`);
  const shown = `(872) 555-${pool.slice(-4)}`;
  assert.equal(first.text, `Downtown: ${shown}, or text ${shown}`, 'every spelling of the main line is swapped');
  assert.equal(first.lakewood, 'Lakewood: (303) 555-0187', 'the other location keeps its own line');
  await page.goto(`http://${DOMAIN}:${sitePort}/contact?page=2`);
  assert.equal((await swapped(page)).tel, first.tel, 'sticky for the visit');
  await visitor.close();

  // A visitor from the health-fair flyer's QR code sees the flyer's own number.
  const flyer = await browser.newContext({ userAgent: CHROME_UA.replace('131', '130') });
  const fp = await flyer.newPage();
  await fp.goto(`http://${DOMAIN}:${sitePort}/contact?utm_source=flyer&utm_medium=print&utm_campaign=Health%20fair%20flyer`);
  assert.equal((await swapped(fp)).tel, 'tel:+18725550143');
  await fp.screenshot({ path: join(process.env.STRIDE_SCREENSHOTS || '../../target/screenshots', 'number-swap.png') });
  await flyer.close();
});

test('the form embedded on the clinic site makes a lead with the visit\'s source, and only the clinic may embed it', async () => {
  const visitor = await browser.newContext({ userAgent: CHROME_UA.replace('131', '129') });
  const page = await visitor.newPage();
  await page.goto(`http://${DOMAIN}:${sitePort}/book?utm_source=newsletter&utm_medium=email&utm_campaign=Monthly%20newsletter`);
  await page.waitForFunction(() => typeof window.stride === 'function');
  await page.waitForTimeout(1500); // the page view reaches the store before the form is sent
  const form = page.frameLocator('iframe[title="Request an appointment"]');
  await form.getByLabel('First name').fill('Embedded');
  await form.getByLabel('Last name').fill('Newsletterreader');
  await form.getByLabel('Mobile phone').fill('(224) 555-0166');
  await form.getByLabel('What would you like help with?').fill('Shoulder pain');
  await form.getByRole('button', { name: 'Send my request' }).click();
  await form.getByRole('heading', { name: /Thank you/ }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/book', 'the visitor stays on the clinic site');
  await visitor.close();

  const desk = await browser.newContext();
  const staff = await desk.newPage();
  await staff.goto(`${base}/login`);
  await staff.getByLabel('Email').fill('frontdesk@riversidept.example');
  await staff.getByLabel('Password').fill('riverside-demo');
  await Promise.all([staff.waitForURL(`${base}/app`), staff.getByRole('button', { name: 'Sign in' }).click()]);
  await staff.goto(`${base}/app/leads`);
  const row = staff.getByRole('row', { name: /Embedded Newsletterreader/ });
  assert.match(await row.innerText(), /newsletter · Email/);
  await desk.close();

  // A page on another host cannot frame the form.
  const other = await browser.newContext();
  const op = await other.newPage();
  await op.goto(`http://127.0.0.1:${sitePort}/book`);
  await op.waitForTimeout(1000);
  const frame = op.frames().find((f) => f !== op.mainFrame());
  const framed = await frame.locator('body').innerText().catch(() => '');
  assert.ok(!framed.includes('Request an appointment') && !framed.includes('Send my request'),
    `the browser refused to frame the form (${frame.url()}): ${framed.slice(0, 200)}`);
  await other.close();
});
