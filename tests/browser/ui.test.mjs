// Stride's pages in headless Chromium: every role signs in and walks its navigation; each page
// passes axe-core's WCAG 2.1 A/AA rules, fits a phone screen, and works from the keyboard.
// Starts the real `stride demo` on a free port with a throw-away data directory.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const BIN = process.env.STRIDE_BIN || '../../target/debug/stride';
const SHOTS = process.env.STRIDE_SCREENSHOTS || '../../target/screenshots';
const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const PASSWORD = 'riverside-demo';
const LOGINS = {
  owner: 'owner@riversidept.example',
  front_desk: 'frontdesk@riversidept.example',
  clinician: 'clinician@riversidept.example',
  marketer: 'marketer@brightpath.example',
};

let server, base, dataDir, browser;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'stride-browser-'));
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['--data-dir', dataDir, 'demo', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout.on('data', (d) => { output += d; });
  server.stderr.on('data', (d) => { output += d; });
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    if (server.exitCode !== null) throw new Error(`stride demo exited: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(page, role) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(LOGINS[role]);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/app`);
}

async function axeViolations(page) {
  await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  });
}

const PAGES = {
  owner: ['/app', '/app/account', '/app/website', '/app/website/setup', '/app/website/heatmaps', '/app/website/heatmaps/1', '/app/website?period=12mo&channel=organic_search&page=/conditions/*', '/app/leads', '/app/leads?view=untouched', '/app/leads/1', '/app/leads/new', '/app/leads/report', '/app/leads/report?by=campaign', '/app/leads/campaigns',
    '/app/calls', '/app/schedule', '/app/patients', '/app/patients/new', '/app/patients/1',
    '/app/settings', '/app/settings/locations', '/app/settings/locations/1', '/app/settings/clinicians', '/app/settings/users',
    '/app/settings/tokens', '/app/settings/messages', '/app/settings/audit'],
  front_desk: ['/app', '/app/leads', '/app/leads/1', '/app/leads/new', '/app/leads/import', '/app/calls', '/app/patients', '/app/schedule', '/app/schedule?lead=1', '/app/settings/messages'],
  clinician: ['/app', '/app/patients', '/app/schedule'],
  marketer: ['/app', '/app/website', '/app/website/heatmaps/1', '/app/leads', '/app/leads/report?by=source', '/app/leads/campaigns', '/app/calls?period=12mo', '/app/settings/locations'],
};

for (const role of Object.keys(PAGES)) {
  test(`${role}: every page passes WCAG 2.1 AA checks and fits a phone`, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, role);
    for (const path of PAGES[role]) {
      const resp = await page.goto(`${base}${path}`);
      assert.equal(resp.status(), 200, `${role} ${path}`);
      assert.deepEqual(await axeViolations(page), [], `${role} ${path} accessibility`);
      await page.setViewportSize({ width: 375, height: 800 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${role} ${path} is ${overflow}px wider than a phone screen`);
      if (role === 'owner' || path === '/app') {
        const name = `${role}${path.replace(/[^A-Za-z0-9-]/g, '_')}`;
        await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    await context.close();
  });
}

test('a visitor requests an appointment on a phone, and the front desk finds the lead in the inbox', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const form = await page.goto(`${base}/p/riverside/request`);
  assert.equal(form.status(), 200);
  assert.deepEqual(await axeViolations(page), [], 'request form accessibility');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1, 'fits a phone');
  // Without a phone or an email the request is refused, and what was typed stays.
  await page.getByLabel('First name').fill('Wilhelmina');
  await page.getByLabel('Last name').fill('Quarrington');
  await page.getByLabel('What would you like help with?').fill('Knee pain');
  await page.getByRole('button', { name: 'Send my request' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /phone|email/i);
  assert.equal(await page.getByLabel('First name').inputValue(), 'Wilhelmina');
  assert.equal(await page.getByLabel('What would you like help with?').inputValue(), 'Knee pain');
  await page.getByLabel('Mobile phone').fill('(630) 555-0777');
  await page.getByLabel('Text me about my appointment').check();
  await Promise.all([page.waitForURL(/\/request\/thanks/), page.getByRole('button', { name: 'Send my request' }).click()]);
  assert.match(await page.locator('h1').innerText(), /thank|received|request/i);
  assert.deepEqual(await axeViolations(page), [], 'confirmation accessibility');
  await page.screenshot({ path: join(SHOTS, 'request-form-thanks-phone.png'), fullPage: true });

  const desk = await browser.newContext();
  const staff = await desk.newPage();
  await signIn(staff, 'front_desk');
  await staff.goto(`${base}/app/leads?view=untouched`);
  await staff.getByRole('link', { name: /Wilhelmina Quarrington/ }).click();
  assert.match(await staff.locator('main').innerText(), /Knee pain/);
  assert.match(await staff.locator('main').innerText(), /\(630\) 555-0777|\+16305550777/);
  await desk.close();
  await context.close();
});

test('the front desk imports a spreadsheet of leads: preview with problems, then import', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'front_desk');
  await page.goto(`${base}/app/leads/import`);
  await page.getByLabel('CSV file').setInputFiles({
    name: 'leads.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('First Name,Last Name,Phone,Insurance,Date\nIngrid,Fairweather,(224) 555-0131,Aetna,2026-10-02\nNobody,Atall,,Cigna,2026-10-03\n'),
  });
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('heading', { name: 'Match the columns' }).waitFor();
  assert.equal(await page.locator('select[name=col_3]').inputValue(), 'payer', 'columns are guessed from the headers');
  assert.match(await page.locator('main').innerText(), /no phone number or email/);
  assert.deepEqual(await axeViolations(page), [], 'preview accessibility');
  await page.screenshot({ path: join(SHOTS, 'lead-import-preview.png'), fullPage: true });
  await page.getByRole('button', { name: 'Import 1 lead' }).click();
  await page.getByRole('heading', { name: 'Import finished' }).waitFor();
  assert.match(await page.getByRole('status').innerText(), /1 new leads[\s\S]*1 not imported/);
  await page.getByRole('link', { name: 'Open the leads' }).click();
  assert.match(await page.locator('main').innerText(), /Ingrid Fairweather/);
  await context.close();
});

test('the sign-in page passes WCAG 2.1 AA checks and says why a sign-in failed', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  assert.deepEqual(await axeViolations(page), []);
  await page.getByLabel('Email').fill(LOGINS.owner);
  await page.getByLabel('Password').fill('not the password');
  await Promise.all([page.waitForURL(`${base}/login`), page.getByRole('button', { name: 'Sign in' }).click()]);
  assert.match(await page.getByRole('alert').innerText(), /wrong email or password/);
  assert.equal(await page.getByLabel('Email').inputValue(), LOGINS.owner, 'the email is kept');
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: join(SHOTS, 'login-error-phone.png') });
  await context.close();
});

test('a marketer sees no patient names anywhere they can go', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'marketer');
  const nav = await page.locator('nav.main a').allTextContents();
  assert.ok(!nav.includes('Patients'), `navigation: ${nav}`);
  const resp = await page.goto(`${base}/app/patients`);
  assert.equal(resp.status(), 403);
  for (const path of PAGES.marketer) {
    await page.goto(`${base}${path}`);
    const text = await page.locator('body').innerText();
    for (const name of ['Olivia', 'Martinez', 'Noah', 'Johnson', '555-0101']) {
      assert.ok(!text.includes(name), `${path} shows ${name}`);
    }
  }
  await context.close();
});

test('the keyboard reaches the skip link first, and forms work without a mouse', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  // The email field has focus on arrival, so typing goes straight into it.
  await page.waitForFunction(() => document.activeElement && document.activeElement.name === 'email');
  await page.keyboard.type(LOGINS.front_desk);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForURL(`${base}/app`), page.keyboard.press('Enter')]);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.textContent.trim());
  assert.equal(focused, 'Skip to content');
  // Search for a patient by phone number from the keyboard.
  await page.goto(`${base}/app/patients`);
  await page.getByLabel(/Find a patient/).focus();
  await page.keyboard.type('(630) 555-0101');
  await Promise.all([page.waitForURL(`${base}/app/patients/search`), page.keyboard.press('Enter')]);
  const rows = await page.locator('tbody tr').allTextContents();
  assert.equal(rows.length, 1, `results: ${rows}`);
  assert.match(rows[0], /Olivia Martinez/);
  assert.ok(!page.url().includes('555'), 'the phone number is not in the URL');
  await context.close();
});

test('a front desk user adds a patient and a mistake keeps what was typed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'front_desk');
  await page.goto(`${base}/app/patients/new`);
  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByLabel(/Mobile phone/).fill('555');
  await Promise.all([page.waitForURL(`${base}/app/patients`), page.getByRole('button', { name: 'Add patient' }).click()]);
  assert.match(await page.getByRole('alert').innerText(), /not a valid US phone number/);
  assert.equal(await page.getByLabel('First name').inputValue(), 'Grace');
  await page.getByLabel(/Mobile phone/).fill('(630) 555-0199');
  await page.getByRole('button', { name: 'Add patient' }).click();
  await page.waitForURL(/\/app\/patients\/\d+\?done=patient/);
  assert.match(await page.getByRole('status').innerText(), /Patient saved/);
  assert.equal(await page.getByLabel(/Mobile phone/).inputValue(), '(630) 555-0199');
  await context.close();
});
