// Berth's web UI in Debian's chromium, driven by playwright-core (ui_test.sh
// starts the registry and pushes the images first). Each check prints
// "ok - ..." or throws; exit 0 passed, 1 failed, 77 chromium cannot start.
// Env: BERTH_URL, ADMIN_PW, DEV_PW, SHOTS (screenshot dir), CHROMIUM.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const base = process.env.BERTH_URL;
const shots = process.env.SHOTS;
const host = new URL(base).host;

// Flags for this machine's closed network (docs/ui.md "Browser tests"): no
// background connections Chromium would make at start.
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let browser;
try {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args, timeout: 60000 });
} catch (e) {
  console.log('chromium cannot start: ' + e.message);
  process.exit(77);
}

const ok = (msg) => console.log('ok - ' + msg);
const pageErrors = [];
let failed = false;

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) pageErrors.push('console: ' + m.text()); });
  page.on('dialog', (d) => { pageErrors.push('unexpected dialog: ' + d.message()); d.dismiss(); });
  return page;
}

async function loaded(page, what) {
  await page.waitForSelector(`body[data-loaded="${what}"]`, { timeout: 15000 });
}

async function signIn(page, user, password) {
  await page.click('#signin-open');
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#signin-submit');
}

async function basicFetch(path, user, password) {
  return fetch(base + path, { headers: { Authorization: 'Basic ' + Buffer.from(user + ':' + password).toString('base64') } });
}

try {
  const page = await newPage();

  // --- anonymous, then a wrong and a right password ---
  const first = await page.goto(base + '/');
  assert.equal(first.status(), 200);
  const csp = first.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(first.headers()['x-frame-options'], 'DENY');
  await loaded(page, 'repositories');
  assert.equal(await page.locator('#repositories tbody tr').count(), 0, 'anonymous sees no repository (the ACL grants anonymous nothing)');
  ok('anonymous: the page loads with a strict CSP and X-Frame-Options, and lists nothing');

  await signIn(page, 'admin', 'wrong-password');
  await page.waitForSelector('#signin-error:has-text("Wrong user name or password")');
  await page.screenshot({ path: `${shots}/signin.png` });
  ok('a wrong password is refused with a message');
  await page.fill('#password', process.env.ADMIN_PW);
  await page.click('#signin-submit');
  await page.waitForSelector('#who:has-text("Signed in as admin")');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'berth_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(!page.url().includes(process.env.ADMIN_PW), 'no secret in the URL');
  ok('the right password signs in (HttpOnly, SameSite=Strict cookie)');

  // --- repositories and the filter ---
  await loaded(page, 'repositories');
  await page.waitForSelector('#repositories tbody tr >> nth=2');
  const names = await page.locator('#repositories tbody tr td:first-child').allTextContents();
  assert.deepEqual(names, ['secret/app', 'team/evil', 'team/multi']);
  const multiRow = page.locator('#repositories tbody tr', { hasText: 'team/multi' });
  assert.equal((await multiRow.locator('td').nth(1).textContent()).trim(), '2', 'team/multi has 2 tags');
  await page.screenshot({ path: `${shots}/repositories.png` });
  ok('admin sees every repository with its tag count, size and last push');

  const started = Date.now();
  await page.fill('#filter', 'mult');
  await page.waitForFunction(() => document.querySelectorAll('#repositories tbody tr').length === 1);
  assert.equal(await page.locator('#repositories tbody tr td:first-child').textContent(), 'team/multi');
  ok(`the filter narrows the list to team/multi (${Date.now() - started} ms including the 120 ms debounce)`);
  await page.fill('#filter', '^team/');
  await page.waitForFunction(() => document.querySelectorAll('#repositories tbody tr').length === 2);
  ok('a ^prefix filter lists team/evil and team/multi');

  // --- a multi-arch image: platforms, copy the pull command ---
  await page.click('a:has-text("team/multi")');
  await loaded(page, 'repository');
  const v1 = page.locator('#tags tbody tr[data-tag="v1"]');
  assert.match(await v1.textContent(), /linux\/amd64/);
  assert.match(await v1.textContent(), /linux\/arm64/);
  await page.screenshot({ path: `${shots}/repository.png`, fullPage: true });
  ok('the repository page shows v1 with its platforms linux/amd64 and linux/arm64');

  await page.fill('#tag-filter', 'v');
  await page.waitForFunction(() => document.querySelectorAll('#tags tbody tr').length === 1);
  assert.equal(await page.locator('#tags tbody tr').getAttribute('data-tag'), 'v1');
  await page.fill('#tag-filter', '');
  await page.waitForFunction(() => document.querySelectorAll('#tags tbody tr').length === 2);
  ok('the tag filter narrows the tags to v1');

  const command = await page.locator('.pull-command').first().textContent();
  assert.equal(command, `docker pull ${host}/team/multi:old`);
  await page.locator('button.copy').first().click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, command);
  ok(`the pull command is copied: ${copied}`);

  assert.ok(await page.locator('#access').count() === 1, 'admin sees who can access');
  assert.match(await page.locator('#access').textContent(), /administrators/);
  ok('admin (the admin action) sees who can access the repository');

  await v1.locator('a').first().click();
  await loaded(page, 'manifest');
  const platforms = await page.locator('#platforms tbody tr td:first-child').allTextContents();
  assert.deepEqual(platforms.sort(), ['linux/amd64', 'linux/arm64']);
  await page.screenshot({ path: `${shots}/index.png`, fullPage: true });
  await page.locator('#platforms tbody tr', { hasText: 'linux/arm64' }).locator('a').click();
  await loaded(page, 'manifest');
  assert.equal(await page.locator('#layers tbody tr').count(), 2, 'the arm64 image has two layers');
  assert.match(await page.locator('#raw').textContent(), /"layers"/);
  await page.screenshot({ path: `${shots}/manifest.png`, fullPage: true });
  ok('the index shows its platforms; the arm64 image its config, 2 layers and raw JSON');

  // --- registry-controlled text is text ---
  await page.goto(base + '/repositories/team/evil/manifests/latest');
  await loaded(page, 'manifest');
  const labels = await page.locator('#labels').textContent();
  assert.ok(labels.includes('<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'), 'the label is shown as text');
  assert.ok((await page.locator('main').textContent()).includes('EVIL=<img src=x onerror="window.__xss=3">'));
  assert.equal(await page.locator('main script, main img').count(), 0, 'no element was made from the label');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing ran');
  await page.screenshot({ path: `${shots}/xss-label.png`, fullPage: true });
  ok('a label holding <script> and <img onerror> is shown as text and runs nothing');

  // --- delete a tag with confirmation ---
  await page.goto(base + '/repositories/team/multi');
  await loaded(page, 'repository');
  await page.click('button.delete[data-tag="old"]');
  await page.waitForSelector('#confirm[open]');
  const question = await page.locator('#confirm-text').textContent();
  assert.match(question, /Delete tag old of team\/multi\? This frees \d/);
  await page.screenshot({ path: `${shots}/delete-confirm.png` });
  await page.click('#confirm-yes');
  await page.waitForFunction(() => !document.querySelector('#tags tbody tr[data-tag="old"]') && document.body.dataset.loaded === 'repository');
  const tags = await (await basicFetch('/v2/team/multi/tags/list', 'admin', process.env.ADMIN_PW)).json();
  assert.deepEqual(tags.tags, ['v1']);
  ok(`deleting tag old after "${question}" removes it from /v2/team/multi/tags/list`);

  // A state-changing call without the CSRF token is refused.
  const csrfLess = await page.evaluate(async () => (await fetch('/ui/api/repositories/team/multi/tags/v1', { method: 'DELETE' })).status);
  assert.equal(csrfLess, 403);
  ok('a DELETE without the X-CSRF-Token header is refused (403)');

  // --- storage ---
  await page.click('a[href="/storage"]');
  await loaded(page, 'storage');
  assert.ok(await page.locator('#namespaces tbody tr').count() >= 2);
  await page.screenshot({ path: `${shots}/storage.png` });
  ok('the storage page shows usage per namespace');

  // --- sign out ---
  await page.click('#signout');
  await page.waitForSelector('#signin-open:visible');
  await loaded(page, 'repositories');
  assert.equal(await page.locator('#repositories tbody tr').count(), 0);
  ok('signing out ends the session');

  // --- a user who may not pull a repository does not see it ---
  await signIn(page, 'developer', process.env.DEV_PW);
  await page.waitForSelector('#who:has-text("Signed in as developer")');
  await loaded(page, 'repositories');
  await page.waitForSelector('#repositories tbody tr >> nth=1');
  const devNames = await page.locator('#repositories tbody tr td:first-child').allTextContents();
  assert.deepEqual(devNames, ['team/evil', 'team/multi']);
  const hidden = await page.goto(base + '/repositories/secret/app');
  assert.equal(hidden.status(), 404);
  await page.waitForSelector('h1:has-text("Not found")');
  const apiHidden = await page.evaluate(async () => (await fetch('/ui/api/repositories/secret/app/summary')).status);
  assert.equal(apiHidden, 404);
  await page.goto(base + '/repositories/team/multi');
  await loaded(page, 'repository');
  assert.equal(await page.locator('button.delete').count(), 0, 'no delete button without the delete action');
  assert.equal(await page.locator('#access').count(), 0, 'no ACL without the admin action');
  ok('developer does not see secret/app (404 on its URL and API), nor delete buttons or the ACL');

  assert.deepEqual(pageErrors, []);
  ok('no page errors');
} catch (e) {
  failed = true;
  console.log('not ok - ' + (e.stack || e));
  if (pageErrors.length) console.log('page errors:\n' + pageErrors.join('\n'));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
