// The dashboard's browser test (run by dashboard_test.sh, which serves jobd and a worker).
// Every wait is a condition with a deadline; every assertion names what differed.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const require = createRequire(join(env.NODE_DIR, 'package.json'));
const puppeteer = require('puppeteer-core');

const URL = env.JOBD_URL;
const WAIT = 20000;
let step = 'start';
let page;

function check(condition, what) {
  if (!condition) throw new Error(`${step}: ${what}`);
}

async function shot(name) {
  mkdirSync(env.OUT_DIR, { recursive: true });
  await page.screenshot({ path: join(env.OUT_DIR, `${name}.png`), fullPage: true });
}

async function api(method, path, key, body) {
  const response = await fetch(URL + path, {
    method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function text(selector) {
  return page.$eval(selector, (node) => node.textContent.trim());
}

// Waits until the text of `selector` passes `test`: {equals}, {includes}, {startsWith} or
// {oneOf} (the page's CSP forbids evaluating code built from strings, so no predicates).
async function waitText(selector, test, what) {
  try {
    await page.waitForFunction((sel, t) => {
      const node = document.querySelector(sel);
      if (!node) return false;
      const text = node.textContent.trim();
      if ('equals' in t) return text === t.equals;
      if ('includes' in t) return text.includes(t.includes);
      if ('startsWith' in t) return text.startsWith(t.startsWith);
      return t.oneOf.includes(text);
    }, { timeout: WAIT, polling: 50 }, selector, test);
  } catch (e) {
    const now = await page.$eval(selector, (n) => n.textContent.trim()).catch(() => '<absent>');
    throw new Error(`${step}: ${what} (${selector} shows "${now}")`);
  }
}

async function signIn(key) {
  await page.goto(`${URL}/`, { waitUntil: 'domcontentloaded' });
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${URL}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#api-key', { timeout: WAIT });
  // By keyboard: the key field has the focus; Enter submits.
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

async function restartJobd() {
  const done = join(env.CONTROL_DIR, 'restart.done');
  rmSync(done, { force: true });
  writeFileSync(join(env.CONTROL_DIR, 'restart.request'), '');
  const deadline = Date.now() + 60000;
  while (!existsSync(done)) {
    check(Date.now() < deadline, 'jobd was not restarted within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const browser = await puppeteer.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
try {
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('dialog', (dialog) => dialog.accept('no longer needed'));

  step = 'a wrong key shows the API\'s message';
  const refused = await api('GET', '/v1/whoami', 'jobd_wrong');
  check(refused.status === 401, `whoami with a wrong key answered ${refused.status}`);
  await signIn('jobd_wrong');
  await waitText('#sign-in-error', { equals: refused.body.message },
                 'the sign-in error is not the API message');
  await shot('01-wrong-key');

  step = 'sign in as a member';
  await signIn(env.MEMBER_KEY);
  await waitText('#key-role', { equals: 'member' }, 'the header does not show the role');
  check(await text('#key-name') === 'web-member', 'the header does not show the key name');
  check(await text('#workspace-name') === 'web', 'the header does not show the workspace');
  check(await page.evaluate(() => Object.keys(sessionStorage).length === 1 &&
                                  !document.cookie && !location.href.includes('jobd_')),
        'the key must live in sessionStorage only');
  await waitText('.state-card[data-state="QUEUED"] .card-value', { equals: '0' }, 'overview counts');

  step = 'a bad payload is refused before sending';
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#create-open', { timeout: WAIT });
  await page.click('#create-open');
  await page.type('#create-type', 'browser.work');
  await page.$eval('#create-payload', (n) => { n.value = '{bad'; });
  await page.click('#create-submit');
  await waitText('#create-error', { startsWith: 'payload:' }, 'no payload error');
  const none = await api('GET', '/v1/workspaces/web/jobs', env.MEMBER_KEY);
  check((none.body.jobs || []).length === 0, 'a job was created from a bad payload');

  step = 'create a job from the form; the worker runs it; the job page follows live';
  await page.$eval('#create-payload', (n) => { n.value = '{"n": 1}'; });
  await page.click('#create-submit');
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  const jobId = await page.$eval('#jobs-body tr[data-job]', (n) => n.dataset.job);
  await page.click(`#jobs-body tr[data-job="${jobId}"] a`);
  await page.waitForSelector('#job-state', { timeout: WAIT });
  await waitText('#job-state', { equals: 'succeeded' }, 'the job did not turn SUCCEEDED on the page');
  await page.waitForFunction(() => document.querySelector('#job-progress')
    ?.getAttribute('aria-valuenow') === '100', { timeout: WAIT });
  await waitText('#job-messages', { includes: 'message 5' }, 'the message log is incomplete');
  await waitText('#job-result', { includes: '"steps": 5' }, 'the result is not shown');
  await waitText('#stream-status', { equals: 'ended' }, 'the stream did not end after SUCCEEDED');
  await shot('02-job-succeeded');

  step = 'create many from JSON lines: a bad item creates nothing, then all appear';
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#batch-open', { timeout: WAIT });
  await page.click('#batch-open');
  await page.$eval('#batch-lines', (n) => {
    n.value = '{"type": "never.batch.a"}\n{"type": "Not Valid"}';
  });
  await page.click('#batch-submit');
  await waitText('#batch-error', { startsWith: 'requests[1].type:' }, 'no item error');
  const noBatch = await api('GET', '/v1/workspaces/web/jobs?type=never.batch.a', env.MEMBER_KEY);
  check((noBatch.body.jobs || []).length === 0, 'a refused batch wrote a job');
  await page.$eval('#batch-lines', (n) => {
    n.value = '{"type": "never.batch.a"}\n\n{"type": "never.batch.b", "priority": 2}';
  });
  await page.click('#batch-submit');
  for (const type of ['never.batch.a', 'never.batch.b']) {
    await page.waitForFunction((t) => [...document.querySelectorAll('#jobs-body tr[data-job]')]
      .some((tr) => tr.textContent.includes(t)), { timeout: WAIT }, type);
  }
  const batched = await api('GET', '/v1/workspaces/web/jobs?type=never.batch.b', env.MEMBER_KEY);
  check(batched.body.jobs.length === 1 && batched.body.jobs[0].priority === 2,
        `the batch's second job is ${JSON.stringify(batched.body.jobs)}`);
  await shot('02b-batch-created');

  step = 'cancel from the table';
  const queued = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'never.run' });
  check(queued.status === 200, `create answered ${queued.status}`);
  await page.goto(`${URL}/#/jobs`);
  const row = `#jobs-body tr[data-job="${queued.body.job.id}"]`;
  await page.waitForSelector(`${row} button.cancel`, { timeout: WAIT });
  await page.click(`${row} button.cancel`);
  await page.waitForSelector(`#jobs-body tr[data-job="${queued.body.job.id}"][data-state="CANCELLED"]`,
                             { timeout: WAIT });
  await shot('03-cancelled-row');

  step = 'a job created elsewhere appears at the top, live';
  const other = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'never.run.2' });
  await page.waitForFunction((id) => document.querySelector('#jobs-body tr[data-job]')?.dataset.job === id,
                             { timeout: WAIT }, other.body.job.id);

  step = 'a viewer sees no actions';
  await signIn(env.VIEWER_KEY);
  await waitText('#key-role', { equals: 'viewer' }, 'viewer role');
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  check(await page.$('#create-open') === null, 'a viewer sees the create form');
  check(await page.$('button.cancel, button.retry, #cancel-selected, #retry-selected') === null,
        'a viewer sees action buttons');
  check(await page.$('#nav-keys') === null, 'a viewer sees the keys page');
  await shot('04-viewer');

  step = 'restart jobd while a job page is open: reconnecting, then nothing missed';
  await signIn(env.MEMBER_KEY);
  await waitText('#key-role', { equals: 'member' }, 'member role');
  const slow = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'browser.slow' });
  const slowId = slow.body.job.id;
  await page.goto(`${URL}/#/jobs/${slowId}`);
  await waitText('#job-messages', { includes: 'message 3' }, 'the slow job did not start');
  await page.evaluate(() => {  // every status the stream shows from now on
    window.statuses = [];
    const node = document.querySelector('#stream-status');
    new MutationObserver(() => window.statuses.push(node.textContent.trim()))
      .observe(node, { childList: true, characterData: true, subtree: true });
  });
  await restartJobd();
  await waitText('#job-state', { equals: 'succeeded' }, 'the slow job did not finish on the page');
  await waitText('#stream-status', { equals: 'ended' }, 'the stream did not end');
  const statuses = await page.evaluate(() => window.statuses);
  check(statuses.includes('reconnecting') && statuses.indexOf('live') > statuses.indexOf('reconnecting'),
        `the stream went through ${JSON.stringify(statuses)}, not reconnecting then live`);
  const shown = await page.$$eval('#job-timeline li', (items) => items.map((i) => Number(i.dataset.sequence)));
  const stored = [];
  let token = '';
  do {
    const events = await api('GET', `/v1/jobs/${slowId}/events?page_size=500${token ? `&page_token=${token}` : ''}`,
                             env.MEMBER_KEY);
    for (const e of events.body.events || []) stored.push(Number(e.sequence));
    token = events.body.nextPageToken || '';
  } while (token);
  check(JSON.stringify(shown) === JSON.stringify(stored),
        `the page shows events ${JSON.stringify(shown)}, jobd stored ${JSON.stringify(stored)}`);
  await shot('05-after-restart');

  step = 'phone width, dark mode';
  await page.setViewport({ width: 390, height: 844 });
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  await page.goto(`${URL}/#/overview`);
  await page.waitForSelector('.state-card', { timeout: WAIT });
  const layout = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  check(layout.overflow <= 0, `the overview is ${layout.overflow}px wider than a phone`);
  check(layout.background === 'rgb(19, 20, 24)', `dark mode background is ${layout.background}`);
  await shot('06-phone-dark');

  step = 'screenshot for the README';
  await page.setViewport({ width: 1280, height: 800 });
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  await page.goto(`${URL}/#/jobs/${slowId}`);
  await waitText('#job-state', { equals: 'succeeded' }, 'job page for the screenshot');
  await page.screenshot({ path: join(env.OUT_DIR, 'dashboard.png') });
  // The README's picture, only on request, so that a test run leaves the checkout alone.
  if (env.JOBD_UPDATE_README_SCREENSHOT === '1') {
    await page.screenshot({ path: join(env.DOCS_DIR, 'dashboard.png') });
  }

  step = 'no script errors';
  const unexpected = consoleErrors.filter((m) => !/401|Failed to load resource|ERR_/.test(m));
  check(unexpected.length === 0, `console errors: ${unexpected.join(' | ')}`);
  console.log('dashboard test: ok');
} catch (e) {
  console.error(`dashboard test FAILED: ${e.message}`);
  if (page) await shot('failure').catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
