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
  owner: ['/app', '/app/account', '/app/website', '/app/website/setup', '/app/website/heatmaps', '/app/website/weekly?site=1', '/app/website/heatmaps/1', '/app/website?period=12mo&channel=organic_search&page=/conditions/*', '/app/leads', '/app/leads?view=untouched', '/app/leads/1', '/app/leads/new', '/app/leads/report', '/app/leads/report?by=campaign', '/app/leads/campaigns',
    '/app/calls', '/app/schedule', '/app/patients', '/app/patients/new', '/app/patients/1', '/app/patients/31',
    '/app/settings', '/app/settings/locations', '/app/settings/locations/1', '/app/settings/clinicians', '/app/settings/users',
    '/app/settings/tokens', '/app/settings/messages', '/app/settings/audit', '/app/settings/booking', '/app/settings/payers', '/app/deposits',
    '/app/schedule/attendance', '/app/schedule/week', '/app/schedule/series',
    '/app/care', '/app/care/completion', '/app/care/audit', '/app/plans/1', '/app/visits/1/note'],
  front_desk: ['/app', '/app/leads', '/app/leads/1', '/app/leads/new', '/app/leads/import', '/app/calls', '/app/patients', '/app/schedule', '/app/schedule?lead=1', '/app/settings/messages',
    '/app/deposits', '/app/settings/payers', '/app/schedule/week', '/app/schedule/series', '/app/schedule/attendance', '/app/schedule/1/move',
    '/app/care', '/app/care/completion'],
  clinician: ['/app', '/app/patients', '/app/schedule', '/app/care', '/app/care/completion', '/app/care/audit', '/app/plans/1',
    '/app/visits/1/note'],
  marketer: ['/app', '/app/clinics', '/app/website', '/app/website/heatmaps/1', '/app/leads', '/app/leads/report?by=source', '/app/leads/campaigns', '/app/calls?period=12mo', '/app/settings/locations'],
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

// The manage link of the visit booked online below; the referrer test books its own when run alone.
let manageUrl;

test('a patient books an evaluation on a phone, sees network and deposit, confirms, and the front desk records the deposit', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const start = await page.goto(`${base}/p/riverside/book`);
  assert.equal(start.status(), 200);
  assert.deepEqual(await axeViolations(page), [], 'booking step 1 accessibility');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1, 'step 1 fits a phone');
  const evaluation = page.getByRole('radio', { name: /New-patient evaluation/ });
  assert.match(await page.locator('label.option', { has: evaluation }).innerText(), /60 minutes · self-pay \$150/);
  await evaluation.check();
  const [times] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show open times' }).click()]);
  assert.equal(times.status(), 200, `open times: ${page.url()} ${(await page.locator('body').innerText()).slice(0, 200)}`);

  // Step 2: day tabs and open times.
  const days = page.getByRole('navigation', { name: 'Days with open times' });
  assert.ok(await days.getByRole('link').count() > 0, 'day tabs');
  assert.ok(await page.locator('a.slot').count() > 0, 'open times');
  assert.deepEqual(await axeViolations(page), [], 'open times accessibility');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1, 'open times fit a phone');
  await page.screenshot({ path: join(SHOTS, 'booking-times-phone.png'), fullPage: true });
  const slot = page.locator('a.slot').first();
  const slotLabel = await slot.getAttribute('aria-label'); // "Tuesday, December 1, 7:00 AM, with Elena Vasquez"
  await Promise.all([page.waitForURL(/[?&]start=\d+/), slot.click()]);

  // Step 3: details, plan and deposit.
  await page.getByLabel('First name').fill('Bartholomew');
  await page.getByLabel('Last name').fill('Okonkwo-Lindqvist');
  await page.getByLabel('Mobile phone').fill('(630) 555-0888');
  const plan = page.getByRole('combobox', { name: /^Insurance/ });
  const inNetwork = (await plan.locator('option').allTextContents()).find((t) => /^Blue Cross Blue Shield — in network$/.test(t.trim()));
  assert.ok(inNetwork, 'Blue Cross Blue Shield is listed as in network');
  await plan.selectOption({ label: inNetwork.trim() });
  assert.equal((await page.locator('#payer-status').innerText()).trim(), 'We are in network with this plan.');
  assert.equal(await page.locator('#payer-status').getAttribute('aria-live'), 'polite');
  assert.match(await page.locator('#deposit').innerText(), /\$25 deposit/);
  // Without the deposit policy ticked, the browser's own validation keeps the form from being sent.
  const details = page.url();
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await page.getByRole('button', { name: 'Book my visit' }).click();
  await page.waitForTimeout(300);
  assert.equal(page.url(), details, 'the form was not sent');
  assert.match(page.url(), /\/p\/riverside\/book/);
  assert.deepEqual(posts, [], 'nothing was posted');
  assert.ok(await page.getByLabel('I have read the deposit policy').evaluate((e) => e.validity.valueMissing), 'the box is marked as missing');
  await page.getByLabel('I have read the deposit policy').check();
  await Promise.all([page.waitForURL(/\/p\/riverside\/manage\/[^/?]+\?booked=1/), page.getByRole('button', { name: 'Book my visit' }).click()]);
  manageUrl = page.url().replace(/\?.*$/, '');

  // The manage page: booked, with the deposit and the plan's network status.
  assert.equal((await page.locator('h1').innerText()).trim(), 'You are booked');
  assert.deepEqual(await axeViolations(page), [], 'manage page accessibility');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1, 'manage page fits a phone');
  const visit = await page.locator('main').innerText();
  assert.match(visit, /New-patient evaluation/);
  assert.match(visit, /Deposit \$25:/);
  assert.match(visit, /Pending/);
  assert.match(visit, /We are in network with this plan\./);
  await Promise.all([page.waitForURL(/done=confirmed/), page.getByRole('button', { name: 'Confirm I am coming' }).click()]);
  assert.equal((await page.getByRole('status').innerText()).trim(), 'Thank you: your visit is confirmed.');
  assert.equal((await page.locator('.badge').first().innerText()).trim(), 'Confirmed');
  assert.equal(await page.getByRole('button', { name: 'Confirm I am coming' }).count(), 0, 'nothing left to confirm');
  await page.screenshot({ path: join(SHOTS, 'booking-manage-phone.png'), fullPage: true });
  await context.close();

  // The front desk sees the deposit in the ledger and records one as collected.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const staff = await desk.newPage();
  await signIn(staff, 'front_desk');
  await staff.goto(`${base}/app/deposits`);
  const rows = staff.locator('tbody tr').filter({ has: staff.locator('form[action^="/app/deposits/"]') });
  assert.ok(await rows.count() > 0, 'the ledger has pending deposits');
  // The newest deposit (highest id) belongs to the booking just made.
  const newest = await rows.evaluateAll((trs) => {
    const id = (tr) => Number(tr.querySelector('form[action^="/app/deposits/"]').getAttribute('action').split('/').pop());
    const tr = trs.reduce((a, b) => (id(b) > id(a) ? b : a));
    return { type: tr.cells[1].innerText, clinician: tr.cells[2].innerText, amount: tr.cells[3].innerText, status: tr.cells[4].innerText, visit: tr.cells[0].innerText };
  });
  assert.equal(newest.type.trim(), 'New-patient evaluation');
  assert.match(newest.status, /Pending/);
  assert.equal(newest.amount.trim(), '$25');
  const [, time, clinician] = slotLabel.match(/(\d{1,2}:\d{2} [AP]M), with (.+)$/);
  assert.ok(newest.visit.includes(time), `ledger visit ${newest.visit} is at ${time}`);
  assert.equal(newest.clinician.trim(), clinician);
  const collect = staff.locator('form').filter({ has: staff.getByRole('button', { name: 'Collected' }) }).first();
  await Promise.all([staff.waitForURL(/\/app\/deposits\?done=deposit/), collect.getByRole('button', { name: 'Collected' }).click()]);
  assert.equal((await staff.getByRole('status').innerText()).trim(), 'Deposit updated; the step is kept with your name.');
  await desk.close();
});

test('the manage link of an online booking is never sent on as a referrer', async () => {
  let url = manageUrl;
  if (!url) {
    // Run alone: book through the public pages without a browser.
    const times = await (await fetch(`${base}/p/riverside/book?type=1&location=1`)).text();
    const href = times.match(/class="slot" href="([^"]+)"/)[1].replaceAll('&#38;', '&').replaceAll('&amp;', '&');
    const q = new URL(href, base).searchParams;
    const booked = await fetch(`${base}/p/riverside/book`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ type: q.get('type'), location: q.get('location'), start: q.get('start'), with: q.get('with'),
        first_name: 'Perpetua', last_name: 'Vandersloot', phone: '(630) 555-0889', payer: 'self', policy_ok: 'on' }),
    });
    assert.equal(booked.status, 303, 'booked');
    url = new URL(booked.headers.get('location'), base).href.replace(/\?.*$/, '');
  }
  assert.match(url, /\/p\/riverside\/manage\/[^/?]+$/);
  const resp = await fetch(url, { redirect: 'manual' });
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get('referrer-policy'), 'no-referrer');
});

test('the front desk checks a patient in from the day view', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'front_desk');
  await page.goto(`${base}/app/schedule`);
  const checkIn = page.getByRole('button', { name: 'Check in', exact: true });
  // After hours (or on a weekend) today's visits are all over: the next day with booked visits.
  for (let day = 0; day < 7 && await checkIn.count() === 0; day++) {
    await Promise.all([page.waitForURL(/date=/), page.getByRole('link', { name: /Next day/ }).click()]);
  }
  assert.ok(await checkIn.count() > 0, 'a day this week has visits to check in');
  await Promise.all([page.waitForURL(/done=checked_in/), checkIn.first().click()]);
  assert.equal((await page.getByRole('status').innerText()).trim(), 'Checked in.');
  await context.close();
});

test('a clinician writes a visit note, signs it and adds an addendum', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  await signIn(page, 'clinician');
  const fitsPhone = async () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // Find a visit of hers under a plan of care whose note is still to be written: today, or a later day.
  await page.goto(`${base}/app/schedule`);
  let noteUrl, visitOf;
  for (let day = 0; day < 14 && !noteUrl; day++) {
    const mine = page.getByRole('region', { name: 'Dr. Priya Natarajan' })
      .locator('li').filter({ hasText: /· visit \d+ of \d+/ }).filter({ has: page.getByRole('link', { name: /^Visit note for the / }) });
    for (const row of await mine.all()) {
      const [, x, y] = (await row.innerText()).match(/· visit (\d+) of (\d+)/);
      const href = await row.getByRole('link', { name: /^Visit note for the / }).getAttribute('href');
      const html = await (await page.request.get(`${base}${href}`)).text();
      if (html.includes('Sign and lock')) { noteUrl = href; visitOf = `Visit ${x} of ${y}`; break; }
    }
    if (!noteUrl) await Promise.all([page.waitForURL(/date=/), page.getByRole('link', { name: /Next day/ }).click()]);
  }
  assert.ok(noteUrl, 'a visit of the clinician with no signed note within two weeks');
  await page.goto(`${base}${noteUrl}`);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Visit note');
  assert.match(await page.locator('main').innerText(), new RegExp(visitOf), 'the visit\'s place in the plan is shown');

  // A mistake in the minutes is refused, and what was typed stays.
  await page.getByLabel(/^Subjective/).fill('Knee feels steadier on stairs; pain 2/10 after work.');
  await page.getByLabel('Intervention 1 code').selectOption('97110');
  await page.getByLabel('Intervention 1 minutes').fill('ten');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /should be a whole number/);
  assert.equal(await page.getByLabel(/^Subjective/).inputValue(), 'Knee feels steadier on stairs; pain 2/10 after work.');
  assert.equal(await page.getByLabel('Intervention 1 code').inputValue(), '97110');

  await page.getByLabel(/^Objective/).fill('Knee flexion 0–125°, quadriceps 4+/5; single-leg stance 20 s.');
  await page.getByLabel(/^Assessment/).fill('Progressing toward the goals; stairs improving.');
  await page.getByLabel(/^Plan/).fill('Continue twice a week; add step-downs to the home program.');
  await page.getByRole('group', { name: 'Body regions treated' }).getByRole('checkbox', { name: 'Knee', exact: true }).check();
  const goals = page.getByRole('group', { name: 'Goals addressed' });
  await goals.getByRole('checkbox').first().check();
  await goals.getByLabel(/^Progress toward .+, percent$/).first().fill('40');
  await page.getByLabel('Intervention 1 minutes').fill('23');
  await page.getByLabel('Intervention 2 code').selectOption('97140');
  await page.getByLabel('Intervention 2 minutes').fill('15');
  await Promise.all([page.waitForURL(/done=note_saved/), page.getByRole('button', { name: 'Save draft' }).click()]);
  assert.match(await page.locator('main').innerText(), /Saved: 38 minutes, 3 units billed\./);
  assert.equal(await page.getByLabel(/^Subjective/).inputValue(), 'Knee feels steadier on stairs; pain 2/10 after work.');
  assert.ok(await goals.getByRole('checkbox').first().isChecked(), 'the goal stays addressed');
  assert.equal(await goals.getByLabel(/^Progress toward .+, percent$/).first().inputValue(), '40');
  assert.deepEqual(await axeViolations(page), [], 'visit note accessibility');
  assert.ok(await fitsPhone() <= 1, 'the visit note fits a phone');
  await page.screenshot({ path: join(SHOTS, 'visit-note-draft-phone.png'), fullPage: true });

  // Signing locks the note: the text is shown, no longer editable, and later changes are addenda.
  await Promise.all([page.waitForURL(/done=note_signed/), page.getByRole('button', { name: 'Sign and lock' }).click()]);
  const signed = await page.locator('main').innerText();
  assert.match(signed, /Signed by/);
  assert.match(signed, /The note is locked/);
  assert.match(signed, /Knee feels steadier on stairs/);
  for (const field of [/^Subjective/, /^Objective/, /^Assessment/, /^Plan/]) {
    assert.equal(await page.getByRole('textbox', { name: field }).count(), 0, `no ${field} field once signed`);
  }
  assert.equal(await page.getByRole('button', { name: 'Save draft' }).count(), 0);
  await page.getByLabel('Addendum').fill('Patient called: the home program video link did not open; sent it again.');
  await Promise.all([page.waitForURL(/done=addendum/), page.getByRole('button', { name: 'Add addendum' }).click()]);
  const addenda = page.locator('main li').filter({ hasText: 'Patient called: the home program video link did not open; sent it again.' });
  assert.equal(await addenda.count(), 1, 'the addendum is listed');
  assert.match(await addenda.innerText(), /Priya Natarajan|clinician@riversidept\.example/);
  assert.deepEqual(await axeViolations(page), [], 'signed note accessibility');
  assert.ok(await fitsPhone() <= 1, 'the signed note fits a phone');
  await page.screenshot({ path: join(SHOTS, 'visit-note-signed-phone.png'), fullPage: true });

  // The plan of care lists the visit as signed; a demo note signed earlier reads the same way.
  await page.getByRole('link', { name: 'Plan of care', exact: true }).click();
  await page.waitForURL(/\/app\/plans\/\d+$/);
  assert.deepEqual(await axeViolations(page), [], 'plan of care accessibility');
  assert.ok(await fitsPhone() <= 1, 'the plan of care fits a phone');
  const visitId = noteUrl.match(/\/app\/visits\/(\d+)\/note/)[1];
  assert.equal((await page.locator(`a[href="/app/visits/${visitId}/note"]`).innerText()).trim(), 'Signed note');
  const earlier = page.locator(`a:text-is("Signed note"):not([href="/app/visits/${visitId}/note"])`);
  if (await earlier.count() > 0) {
    await Promise.all([page.waitForURL(/\/app\/visits\/\d+\/note$/), earlier.first().click()]);
    assert.match(await page.locator('main').innerText(), /Signed by/);
    assert.deepEqual(await axeViolations(page), [], 'a demo signed note accessibility');
    assert.ok(await fitsPhone() <= 1, 'a demo signed note fits a phone');
  }
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
  assert.match(await page.getByRole('alert').innerText(), /^Wrong email or password/, 'an error reads as a sentence');
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
