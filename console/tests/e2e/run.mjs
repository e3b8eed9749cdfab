// The console in headless Chromium against a running manager (started, with data, by
// tests/e2e-console/console_e2e.c). Environment: RAMPART_URL, RAMPART_PASSWORD (admin),
// RAMPART_SCREENS (folder for the screenshots), RAMPART_ALERT (id of the alert with a
// four-process chain). Exit status 0 when every check passed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.RAMPART_URL;
const PASSWORD = process.env.RAMPART_PASSWORD;
const SHOTS = process.env.RAMPART_SCREENS ?? 'e2e-screens';
const ALERT = process.env.RAMPART_ALERT;
if (!BASE || !PASSWORD || !ALERT) {
  console.error('run.mjs: set RAMPART_URL, RAMPART_PASSWORD and RAMPART_ALERT');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
let failed = 0;
const t0 = Date.now();
function check(ok, what, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

/* The API as a script sees it, to compare with what the page shows. */
async function apiLogin() {
  const r = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  if (!r.ok) throw new Error(`API login: HTTP ${r.status}`);
  return (await r.json()).access_token;
}
const token = await apiLogin();
const api = async (path, tok = token) => {
  const r = await fetch(`${BASE}/api/v1${path}`, { headers: { Authorization: `Bearer ${tok}` } });
  return { status: r.status, body: r.status === 200 ? await r.json() : null };
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
const page = await context.newPage();
page.setDefaultTimeout(20_000);
const pageErrors = [];
const offsite = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('request', (r) => {
  if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) offsite.push(r.url());
});
/* Content-Security-Policy violations (the manager serves the console with default-src 'self'). */
await context.addInitScript(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    /* For an inline style, say which: the first characters of the last <style> added. */
    const styles = document.querySelectorAll('style');
    const last = styles[styles.length - 1];
    window.__csp.push(`${e.violatedDirective} ${e.blockedURI}${e.blockedURI === 'inline' && last ? ` (${(last.textContent ?? '').slice(0, 60)})` : ''}`);
  });
});
const shot = async (name) => {
  await page.waitForTimeout(300); /* let charts and transitions settle */
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
};
const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const text = async (testid) => (await page.getByTestId(testid).first().innerText()).trim();
const num = async (testid) => Number((await text(testid)).replace(/[^0-9]/g, ''));

try {
  // --- log in, with the keyboard only
  await page.goto(BASE + '/');
  await page.waitForURL(/\/login/);
  check(true, 'an anonymous visit lands on the login page');
  await page.getByLabel('User name').waitFor();
  await shot('01-login');
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type('wrong-password');
  await page.keyboard.press('Enter');
  await page.getByText('Wrong user name or password.').waitFor();
  check(true, 'a wrong password is refused in words');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.getByTestId('page-overview').waitFor();
  check(true, 'logging in shows the overview');

  // --- overview numbers equal the API's
  await page.getByTestId('hosts-total').waitFor();
  const ov = (await api('/overview')).body;
  const shown = {
    total: await num('hosts-total'),
    online: await num('hosts-online'),
    offline: await num('hosts-offline'),
    open: await num('alerts-open'),
    critical: await num('alerts-critical'),
    last24: await num('alerts-24h'),
  };
  const want = {
    total: ov.hosts.total,
    online: ov.hosts.online,
    offline: ov.hosts.offline,
    open: ov.alerts.new + ov.alerts.in_progress,
    critical: ov.alerts.open_critical,
    last24: ov.alerts.last_24h,
  };
  check(JSON.stringify(shown) === JSON.stringify(want), 'overview numbers match GET /api/v1/overview', `page ${JSON.stringify(shown)} api ${JSON.stringify(want)}`);
  check(want.total === 5 && want.online === 3 && want.offline === 2 && want.open === 6, 'the seeded fleet is what the overview counts', JSON.stringify(want));
  await page.getByText('download_exec').first().waitFor();
  check(true, 'top rules list the seeded rules');
  await shot('02-overview');

  // --- hosts: list, filter, open one
  await nav('Hosts').click();
  await page.getByTestId('page-hosts').waitFor();
  await page.getByRole('link', { name: 'web-01' }).waitFor();
  check((await page.locator('.ant-table-row').count()) === 5, 'the hosts list shows all five hosts');
  await shot('03-hosts');
  await page.getByLabel('Operating system contains').fill('ubuntu');
  await page.getByLabel('Operating system contains').press('Enter');
  await page.waitForURL(/os=ubuntu/);
  await page.getByRole('link', { name: 'db-01' }).waitFor();
  // db-01 is in the unfiltered list too: wait for the filtered rows to replace it
  await page
    .waitForFunction(() => document.querySelectorAll('.ant-table-row').length === 1, null, { timeout: 10000 })
    .catch(() => {});
  check((await page.locator('.ant-table-row').count()) === 1, 'the OS filter keeps only the Ubuntu host');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByRole('link', { name: 'web-01' }).click();
  await page.getByTestId('page-host').waitFor();
  const facts = await text('host-facts');
  check(facts.includes('debian 12.8') && facts.includes('6.1.0-26-amd64'), 'host detail shows its facts', facts.slice(0, 200));
  await page.getByText('Download piped to a shell').first().waitFor();
  check(true, 'host detail lists its alerts');
  await shot('04-host');
  await page.getByRole('tab', { name: 'Packages' }).click();
  await page.getByText('3.0.15-1~deb12u1').waitFor();
  check(true, 'the Packages tab lists the host\'s packages');
  await page.getByRole('tab', { name: 'Ports' }).click();
  await page.getByText('/usr/sbin/nginx').first().waitFor();
  check(true, 'the Ports tab lists listening ports');
  await shot('05-host-ports');

  // --- alerts: the drawer, the process chain, whitelisting
  await nav('Alerts').click();
  await page.getByTestId('page-alerts').waitFor();
  await page.getByRole('button', { name: 'Reverse shell through /dev/tcp' }).waitFor();
  check((await page.locator('.ant-table-row').count()) === 6, 'the alert list shows the six alerts');
  await page.getByLabel('Severity').first().click();
  await page.getByTitle('Critical').click();
  await page.waitForURL(/severity=critical/);
  await page.waitForFunction(() => document.querySelectorAll('.ant-table-row').length === 1);
  check(true, 'the severity filter keeps the critical alert only');
  await shot('06-alerts');
  await page.getByRole('button', { name: 'Reverse shell through /dev/tcp' }).click();
  await page.waitForURL(new RegExp(`alert=${ALERT}`));
  await page.getByTestId('process-chain').waitFor();
  const nodes = page.getByTestId('chain-node');
  check((await nodes.count()) === 4, 'the process chain shows four processes', String(await nodes.count()));
  check((await nodes.first().innerText()).includes('systemd (1)') && (await nodes.last().innerText()).includes('bash (4242)'), 'oldest ancestor first, the alerting process last');
  check((await page.getByText('T1059.004').count()) > 0, 'the ATT&CK technique is shown');
  check((await page.getByText('Kill the process tree').count()) > 0, 'the remediation is shown');
  await shot('07-alert-drawer');
  await page.getByRole('tab', { name: /Event fields/ }).click();
  await page.getByTestId('event-fields').getByText('/var/www').waitFor();
  check(true, 'the raw event fields are listed');
  await page.getByRole('button', { name: 'Whitelist…' }).click();
  await page.getByRole('button', { name: 'Create whitelist entry' }).click();
  await page.getByText(/Whitelisted\./).waitFor();
  const wl = (await api('/whitelist')).body;
  const entry = wl.items.find((w) => w.from_alert === ALERT);
  check(!!entry && entry.match.some((m) => m.field === 'exe' && m.value === '/bin/bash'), 'whitelisting creates an entry from the alert', JSON.stringify(wl.items));
  const after = (await api(`/alerts/${ALERT}`)).body;
  check(after.status === 'false_positive', 'the whitelisted alert is marked as a false positive', after.status);
  await page.getByTestId('alert-drawer').getByRole('button', { name: 'Close', exact: true }).click();
  await page.waitForURL((u) => !u.search.includes('alert='));
  await nav('Whitelist').click();
  await page.getByTestId('page-whitelist').waitFor();
  await page.getByText('/bin/bash').first().waitFor();
  check(true, 'the whitelist page shows the new entry');
  await shot('08-whitelist');

  // --- bulk triage
  await nav('Alerts').click();
  await page.getByTestId('page-alerts').waitFor();
  const downloads = page.locator('.ant-table-row', { hasText: 'Download piped to a shell' });
  await downloads.first().waitFor();
  for (let i = 0; i < (await downloads.count()); i++) await downloads.nth(i).locator('input[type=checkbox]').check();
  await page.getByText('2 selected').waitFor();
  await page.getByRole('button', { name: 'Resolve', exact: true }).click();
  await page.getByText('Resolved: 2 alerts').waitFor();
  const resolved = (await api('/alerts?status=resolved')).body;
  check(resolved.total === 2 && resolved.items.every((a) => a.rule_id === 'download_exec'), 'bulk resolve changes the selected alerts only', JSON.stringify(resolved.items.map((a) => a.rule_id)));
  await page.waitForFunction(() => document.querySelectorAll('.ant-badge-status-success').length >= 2);
  check(true, 'the list shows them resolved without a reload');

  // --- a task, created in the UI, until every host answered
  await nav('Tasks').click();
  await page.getByTestId('page-tasks').waitFor();
  await page.getByRole('button', { name: 'New task' }).click();
  const hostPicker = page.getByRole('combobox', { name: 'Hosts' });
  await hostPicker.click();
  await hostPicker.fill('sim-0000');
  await page.getByTitle('sim-00002').click();
  await page.getByTitle('sim-00001').click();
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Send task' }).click();
  await page.getByTestId('page-task').waitFor();
  await page.waitForSelector('[data-testid="page-task"][data-done="yes"]', { timeout: 30_000 });
  const statuses = await page.getByTestId('subtask-status').allInnerTexts();
  check(statuses.length === 2 && statuses.every((s) => s === 'Succeeded'), 'the task finishes on both hosts', statuses.join(','));
  await shot('09-task');
  await nav('Tasks').click();
  await page.getByText('Collect assets now').first().waitFor();
  await shot('10-tasks');

  // --- the other pages
  await nav('Rules').click();
  await page.getByTestId('page-rules').waitFor();
  await page.getByText('reverse_shell_dev_tcp').first().waitFor();
  check(true, 'the rules page lists the hub\'s rules');
  await shot('11-rules');
  await nav('Asset search').click();
  await page.getByTestId('page-assets').waitFor();
  await page.getByLabel(/Exact package name/).fill('openssl');
  await page.getByLabel(/Exact package name/).press('Enter');
  await page.waitForURL(/name=openssl/);
  await page.waitForFunction(() => [...document.querySelectorAll('.ant-table-row')].map((r) => r.textContent).join('|').includes('openssl') && ![...document.querySelectorAll('.ant-table-row')].some((r) => r.textContent.includes('nginx')));
  const assetRows = await page.locator('.ant-table-row').allInnerTexts();
  check(assetRows.length >= 1 && assetRows.every((r) => r.includes('web-01') && r.includes('openssl')), 'fleet-wide asset search finds the host with openssl', assetRows.join(' | '));
  await shot('12-assets');
  await nav('System').click();
  await page.getByTestId('page-system').waitFor();
  await page.getByText('agent-center').first().waitFor();
  check((await page.getByText('Healthy').count()) >= 3, 'service health lists the running services');
  await shot('13-system');
  await page.getByRole('tab', { name: 'Audit log' }).click();
  await page.getByText('/api/v1/whitelist').first().waitFor();
  check(true, 'the audit log shows the whitelist change');
  await shot('14-audit');

  // --- dark theme
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
  await nav('Overview').click();
  await page.getByTestId('hosts-total').waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.ant-card')).backgroundColor);
  check(bg !== 'rgb(255, 255, 255)', 'the dark theme darkens the cards', bg);
  await shot('15-overview-dark');

  // --- log out: back to the login page, and the old token no longer works
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('rampart.session') ?? 'null'));
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/login/);
  check((await page.evaluate(() => sessionStorage.getItem('rampart.session'))) === null, 'logging out forgets the session');
  check((await api('/auth/me', session?.access)).status === 401, 'logging out revokes the access token on the manager');
  await page.goto(BASE + '/alerts');
  await page.waitForURL(/\/login\?next=%2Falerts/);
  check(true, 'a page visited after logging out asks to log in again');
  await shot('16-logged-out');

  const csp = await page.evaluate(() => window.__csp);
  check(csp.length === 0, 'no Content-Security-Policy violation', csp.join('; '));
  check(pageErrors.length === 0, 'no uncaught error in the page', pageErrors.join('; '));
  check(offsite.length === 0, 'nothing fetched from outside the manager', offsite.join(' '));
} catch (e) {
  check(false, 'the run went through', String(e?.stack ?? e));
  await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`console e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
