// The dashboard's browser test (run by dashboard_test.sh, which serves jobd and a worker).
// Every wait is a condition with a deadline; every assertion names what differed.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlSteps } from './control_steps.mjs';

const env = process.env;
const require = createRequire(join(env.NODE_DIR, 'package.json'));
const puppeteer = require('puppeteer-core');

const URL = env.JOBD_URL;
const WAIT = 20000;
let step = 'start';
let page;
let dialogAnswer = 'no longer needed';  // what prompt() and confirm() dialogs are answered

// A template's payload schema: one property of each kind the generated form handles.
const REPORT_SCHEMA = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', title: 'Title', description: 'on the first page', maxLength: 40 },
    pages: { type: 'integer', minimum: 1, maximum: 1000 },
    mode: { enum: ['fast', 'full'] },
    draft: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    source: { type: 'string' },
  },
};

// JSON with object keys sorted, to compare payloads.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

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

// Waits until the job page's checkpoint is `want` (keys in any order) and answers its text.
async function waitCheckpoint(want, what) {
  try {
    await page.waitForFunction((expected) => {
      const node = document.querySelector('#job-checkpoint-json');
      if (!node) return false;
      const sorted = (v) => (Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v);
      try {
        return JSON.stringify(sorted(JSON.parse(node.textContent))) === expected;
      } catch (e) {
        return false;
      }
    }, { timeout: WAIT, polling: 50 }, canonical(want));
  } catch (e) {
    const now = await text('#job-checkpoint').catch(() => '<absent>');
    throw new Error(`${step}: ${what} (#job-checkpoint shows "${now}")`);
  }
  return text('#job-checkpoint-json');
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
  page.on('dialog', (dialog) => dialog.accept(dialogAnswer));

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

  step = 'a worker over HTTP saves a checkpoint; the job page shows it, then the next one';
  // Type browser.checkpoint: `jobctl work` does not take it; this test is its worker.
  const saving = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'browser.checkpoint' });
  check(saving.status === 200, `create answered ${saving.status}`);
  const savingId = saving.body.job.id;
  await page.goto(`${URL}/#/jobs/${savingId}`);
  await waitText('#job-state', { equals: 'queued' }, 'the job to checkpoint is not shown queued');
  await waitText('#job-checkpoint', { equals: 'None saved.' }, 'a job without a checkpoint shows one');
  const leased = await api('POST', '/v1/workspaces/web/jobs:acquire', env.WORKER_KEY,
                           { types: ['browser.checkpoint'], workerId: 'browser-http-worker', maxJobs: 1 });
  check(leased.status === 200 && (leased.body.jobs || []).length === 1 &&
        leased.body.jobs[0].job.id === savingId, `AcquireJobs answered ${leased.status} ${JSON.stringify(leased.body)}`);
  check(leased.body.jobs[0].job.checkpoint === undefined, 'a first attempt was handed a checkpoint');
  const lease = leased.body.jobs[0].leaseToken;
  await waitText('#job-state', { equals: 'running' }, 'the leased job is not shown running');
  const saved = { page: 7, cursor: 'abc' };
  const reported = await api('POST', `/v1/jobs/${savingId}:report`, env.WORKER_KEY,
                             { leaseToken: lease, progressPercent: 40, progressMessage: 'page 7', checkpoint: saved });
  check(reported.status === 200, `ReportProgress answered ${reported.status} ${JSON.stringify(reported.body)}`);
  const withCheckpoint = await api('GET', `/v1/jobs/${savingId}`, env.MEMBER_KEY);
  check(canonical(withCheckpoint.body.job.checkpoint) === canonical(saved),
        `jobd has the checkpoint as ${JSON.stringify(withCheckpoint.body.job.checkpoint)}`);
  const shownCheckpoint = await waitCheckpoint(saved, 'the job page does not show the checkpoint');
  // Pretty-printed, keys sorted (jobd keeps no key order).
  check(shownCheckpoint === '{\n  "cursor": "abc",\n  "page": 7\n}',
        `the checkpoint is shown as "${shownCheckpoint}"`);
  check(await page.$('#job-checkpoint-none') === null, '"None saved." is still shown');
  await shot('02a-job-checkpoint');
  // The next report comes within a second of the page's last read: it still shows, as text.
  const nextCheckpoint = { page: 8, cursor: '<img src=x id=checkpoint-injected>' };
  const again = await api('POST', `/v1/jobs/${savingId}:report`, env.WORKER_KEY,
                          { leaseToken: lease, progressPercent: 60, progressMessage: 'page 8', checkpoint: nextCheckpoint });
  check(again.status === 200, `ReportProgress answered ${again.status} ${JSON.stringify(again.body)}`);
  await waitCheckpoint(nextCheckpoint, 'the job page does not follow the next checkpoint');
  check(await page.$('#job-checkpoint img, #checkpoint-injected') === null, 'the checkpoint was not escaped');
  // A long one is folded away; unfolded, it stays open while the page redraws.
  const longCheckpoint = { page: 9, seen: Array.from({ length: 40 }, (_, i) => `item-${i}`) };
  const long = await api('POST', `/v1/jobs/${savingId}:report`, env.WORKER_KEY,
                         { leaseToken: lease, progressPercent: 80, progressMessage: 'page 9', checkpoint: longCheckpoint });
  check(long.status === 200, `ReportProgress answered ${long.status} ${JSON.stringify(long.body)}`);
  await waitCheckpoint(longCheckpoint, 'the job page does not follow the long checkpoint');
  check(await page.$eval('#job-checkpoint', (n) => n.querySelector('details')?.open === false),
        'a long checkpoint is not folded');
  await page.click('#job-checkpoint-summary');
  const finished = await api('POST', `/v1/jobs/${savingId}:complete`, env.WORKER_KEY,
                             { leaseToken: lease, result: { pages: 9 } });
  check(finished.status === 200, `CompleteJob answered ${finished.status} ${JSON.stringify(finished.body)}`);
  await waitText('#job-state', { equals: 'succeeded' }, 'the checkpointed job is not shown succeeded');
  check(await page.$eval('#job-checkpoint', (n) => n.querySelector('details')?.open === true),
        'the unfolded checkpoint folded again when the page redrew');

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

  // Pause, resume and delete a job, bulk cancel by filter, the queues page (control_steps.mjs).
  await controlSteps({ page, setStep: (name) => { step = name; }, check, text, waitText, shot, api,
                       signIn, otherJobId: other.body.job.id });

  step = 'templates: a new template with a payload schema, from the page';
  await page.goto(`${URL}/#/templates`);
  await page.waitForSelector('#template-open', { timeout: WAIT });
  await page.click('#template-open');
  await page.type('#template-name', 'browser.report');
  await page.type('#template-type', 'browser.work');
  await page.type('#template-description-input', 'a report, from the browser test');
  await page.$eval('#template-payload', (n) => { n.value = '{"pages": 10, "source": "template"}'; });
  await page.$eval('#template-schema', (n, schema) => { n.value = schema; }, JSON.stringify(REPORT_SCHEMA));
  await page.click('#template-create');
  const templateRow = '#templates-body tr[data-template-name="browser.report"]';
  await page.waitForSelector(templateRow, { timeout: WAIT });
  const templates = await api('GET', '/v1/templates?workspace_id=web', env.MEMBER_KEY);
  const template = (templates.body.jobTemplates || []).find((t) => t.name === 'browser.report');
  check(template && template.workspaceId === 'web' && template.defaults.type === 'browser.work' &&
        canonical(template.payloadSchema) === canonical(REPORT_SCHEMA),
        `jobd stored the template as ${JSON.stringify(template)}`);
  const rowText = await text(templateRow);
  check(rowText.includes('browser.work') && rowText.includes('a report, from the browser test'),
        `the template's row shows "${rowText}"`);

  step = 'templates: the job form follows the schema';
  await page.click(`${templateRow} a.open-template`);  // the new template is open already
  await waitText('#template-title', { startsWith: 'Template browser.report' }, 'the template is not open');
  await page.waitForSelector('#template-job-form [data-property="pages"]', { timeout: WAIT });
  const inputs = Object.fromEntries(await page.$$eval('#template-job-form [data-property]', (nodes) =>
    nodes.map((n) => [n.dataset.property, { tag: n.tagName.toLowerCase(), type: n.type, min: n.min,
                                            max: n.max, maxLength: n.maxLength, required: n.required,
                                            marked: Boolean(n.closest('.field').querySelector('.required')),
                                            options: n.options ? [...n.options].map((o) => o.textContent) : [] }])));
  check(Object.keys(inputs).sort().join() === 'draft,mode,pages,source,tags,title',
        `the form has inputs for ${Object.keys(inputs).join()}`);
  check(inputs.pages.type === 'number' && inputs.pages.min === '1' && inputs.pages.max === '1000',
        `pages is ${JSON.stringify(inputs.pages)}`);
  check(inputs.title.type === 'text' && inputs.title.maxLength === 40 && inputs.title.required &&
        inputs.title.marked, `title is ${JSON.stringify(inputs.title)}`);
  check(!inputs.pages.marked, 'pages is marked required');
  check(inputs.mode.tag === 'select' && inputs.mode.options.slice(1).join() === 'fast,full',
        `mode is ${JSON.stringify(inputs.mode)}`);
  check(inputs.draft.type === 'checkbox', `draft is ${JSON.stringify(inputs.draft)}`);
  check(inputs.tags.tag === 'textarea', `tags is ${JSON.stringify(inputs.tags)}`);

  step = 'templates: a value past the maximum shows jobd\'s message, and makes no job';
  const reportsBefore = await api('GET', '/v1/workspaces/web/jobs?type=browser.work&page_size=500', env.MEMBER_KEY);
  await page.type('#template-job-form [data-property="title"]', 'Quarterly');
  await page.type('#template-job-form [data-property="pages"]', '5000');
  await page.click('#template-job-submit');
  await waitText('#template-job-error', { equals: 'payload.pages: must be at most 1000' },
                 'the refusal is not jobd\'s message');
  check(await page.$('#template-job-link') === null, 'a job link is shown for a refused job');
  const reportsAfter = await api('GET', '/v1/workspaces/web/jobs?type=browser.work&page_size=500', env.MEMBER_KEY);
  check((reportsAfter.body.jobs || []).length === (reportsBefore.body.jobs || []).length,
        'a refused payload made a job');
  await shot('03b-template-refused');

  step = 'templates: a valid value makes a job from the template, linked';
  await page.$eval('#template-job-form [data-property="pages"]', (n) => { n.value = ''; });
  await page.type('#template-job-form [data-property="pages"]', '20');
  const full = await page.$eval('#template-job-form [data-property="mode"]',
                                (n) => [...n.options].find((o) => o.textContent === 'full').value);
  await page.select('#template-job-form [data-property="mode"]', full);
  await page.click('#template-job-submit');
  await page.waitForSelector('#template-job-link', { timeout: WAIT });
  check(await text('#template-job-error') === '', 'an error is still shown after the job was made');
  const madeId = await text('#template-job-link');
  const made = await api('GET', `/v1/jobs/${madeId}`, env.MEMBER_KEY);
  const expected = { title: 'Quarterly', pages: 20, mode: 'full', draft: false, source: 'template' };
  check(made.status === 200 && made.body.job.type === 'browser.work' &&
        canonical(made.body.job.payload) === canonical(expected),
        `the job made is ${JSON.stringify(made.body)}`);
  await shot('03c-template-job');
  await page.click('#template-job-link');
  await waitText('#job-state', { equals: 'succeeded' }, 'the job from the template did not run');

  step = 'schedules: a refused spec shows jobd\'s message';
  const refusedSchedule = await api('POST', '/v1/workspaces/web/schedules', env.MEMBER_KEY, {
    schedule: { name: 'browser-refused', spec: { cron: ['61 * * * *'] }, job: { type: 'browser.scheduled' } },
  });
  check(refusedSchedule.status === 400, `a bad cron answered ${refusedSchedule.status}`);
  await page.goto(`${URL}/#/schedules`);
  await page.waitForSelector('#schedule-open', { timeout: WAIT });
  await page.click('#schedule-open');
  await page.type('#schedule-name', 'browser-every-second');
  await page.type('#schedule-cron', '61 * * * *');
  await page.type('#schedule-type', 'browser.scheduled');
  await page.click('#schedule-submit');
  await waitText('#schedule-create-error', { equals: refusedSchedule.body.message },
                 'the refusal is not jobd\'s message');

  step = 'schedules: one every second (6-field cron); its next runs and first run are shown';
  // browser.scheduled has no worker: the first run stays QUEUED and later ones are skipped.
  await page.$eval('#schedule-cron', (n) => { n.value = '*/1 * * * * *'; });
  await page.type('#schedule-zone', 'Europe/Paris');
  await page.$eval('#schedule-payload', (n) => { n.value = '{"from": "schedule"}'; });
  await page.click('#schedule-submit');
  const scheduleRow = '#schedules-body tr[data-schedule-name="browser-every-second"]';
  await page.waitForSelector(scheduleRow, { timeout: WAIT });
  check(await text('#schedule-create-error') === '', 'an error is still shown after the schedule was made');
  const listed = await api('GET', '/v1/workspaces/web/schedules', env.MEMBER_KEY);
  const schedule = (listed.body.schedules || []).find((s) => s.name === 'browser-every-second');
  check(schedule && schedule.spec.cron[0] === '*/1 * * * * *' && schedule.spec.timeZone === 'Europe/Paris' &&
        schedule.job.type === 'browser.scheduled' && schedule.job.payload.from === 'schedule',
        `jobd stored the schedule as ${JSON.stringify(schedule)}`);
  const when = await text(`${scheduleRow} td:nth-child(2)`);
  check(when.includes('*/1 * * * * *') && when.includes('Europe/Paris'), `the spec shows "${when}"`);
  const next = await page.$eval(`${scheduleRow} .next-run`, (n) => ({
    count: n.dataset.count, lines: n.title.split('\n').length,
    first: n.querySelector('time')?.getAttribute('datetime'),
  }));
  check(next.count === '5' && next.lines === 5, `the next runs are ${JSON.stringify(next)}`);
  const firstIn = (new Date(next.first).getTime() - Date.now()) / 1000;
  check(firstIn > -10 && firstIn < 10, `the first next run is ${next.first}, ${firstIn} s from now`);
  await page.waitForSelector(`${scheduleRow} .last-run a.last-job`, { timeout: WAIT });
  await waitText(`${scheduleRow} .runs`, { startsWith: '1 / ' }, 'the first run is not counted');
  await shot('03d-schedules');

  step = 'schedules: trigger now, then follow the link to the job made';
  await page.click(`${scheduleRow} button.trigger`);
  await page.waitForSelector(`${scheduleRow} a.triggered-job`, { timeout: WAIT });
  const triggeredId = await page.$eval(`${scheduleRow} a.triggered-job`,
                                       (a) => decodeURIComponent(a.getAttribute('href').replace('#/jobs/', '')));
  const triggered = await api('GET', `/v1/jobs/${triggeredId}`, env.MEMBER_KEY);
  check(triggered.status === 200 && triggered.body.job.labels['jobd/schedule'] === schedule.id &&
        triggered.body.job.payload.from === 'schedule',
        `the triggered job is ${JSON.stringify(triggered.body)}`);
  await page.click(`${scheduleRow} a.triggered-job`);
  await waitText('#job-state', { equals: 'queued' }, 'the triggered job\'s page');
  await waitText('#job-fields', { includes: `jobd/schedule=${schedule.id}` }, 'the job page lacks the label');

  step = 'schedules: pause with a note; the note is shown; resume';
  await page.goto(`${URL}/#/schedules`);
  await page.waitForSelector(`${scheduleRow} button.pause`, { timeout: WAIT });
  dialogAnswer = 'paused by the browser test';
  await page.click(`${scheduleRow} button.pause`);
  await waitText(`${scheduleRow} .pause-note`, { equals: 'paused by the browser test' }, 'the note is not shown');
  await waitText(`${scheduleRow} .next-run`, { equals: 'paused' }, 'a paused schedule shows next runs');
  const paused = await api('GET', `/v1/schedules/${schedule.id}`, env.MEMBER_KEY);
  check(paused.body.schedule.paused === true && paused.body.schedule.pauseNote === 'paused by the browser test',
        `jobd has ${JSON.stringify(paused.body)}`);
  await page.click(`${scheduleRow} a.open-schedule`);
  await waitText('#schedule-fields', { includes: 'paused: paused by the browser test' }, 'the detail');
  await shot('03e-schedule-paused');
  await page.click(`${scheduleRow} button.resume`);
  await page.waitForSelector(`${scheduleRow}[data-paused="false"]`, { timeout: WAIT });
  await page.waitForSelector(`${scheduleRow} .next-run[data-count="5"]`, { timeout: WAIT });
  await page.waitForSelector('#schedule-next-runs li:nth-child(5)', { timeout: WAIT });
  const resumed = await api('GET', `/v1/schedules/${schedule.id}`, env.MEMBER_KEY);
  check(resumed.body.schedule.paused !== true, `jobd has ${JSON.stringify(resumed.body)}`);

  step = 'schedules: delete, confirmed';
  await page.click(`${scheduleRow} button.delete`);
  await page.waitForFunction((sel) => !document.querySelector(sel) && location.hash === '#/schedules' &&
                             document.querySelector('#schedules-body tr'), { timeout: WAIT }, scheduleRow);
  const afterDelete = await api('GET', '/v1/workspaces/web/schedules', env.MEMBER_KEY);
  check(!(afterDelete.body.schedules || []).length, `schedules left: ${JSON.stringify(afterDelete.body)}`);
  dialogAnswer = 'no longer needed';

  step = 'a viewer sees no actions';
  await signIn(env.VIEWER_KEY);
  await waitText('#key-role', { equals: 'viewer' }, 'viewer role');
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  check(await page.$('#create-open') === null, 'a viewer sees the create form');
  check(await page.$('button.cancel, button.retry, #cancel-selected, #retry-selected, #bulk-filter') === null,
        'a viewer sees action buttons');
  check(await page.$('#nav-keys') === null, 'a viewer sees the keys page');
  await shot('04-viewer');
  check(await page.$('#nav-schedules') !== null && await page.$('#nav-templates') !== null,
        'a viewer does not see the schedules and templates pages');
  await page.goto(`${URL}/#/templates/${template.id}`);
  await waitText('#template-title', { startsWith: 'Template browser.report' }, 'a viewer opens a template');
  check(await page.$('#template-open, #template-job-form, #templates-body button') === null,
        'a viewer sees template actions');
  await page.goto(`${URL}/#/schedules`);
  await page.waitForSelector('#schedules-body tr', { timeout: WAIT });
  check(await page.$('#schedule-open, #schedules-body button') === null, 'a viewer sees schedule actions');
  await page.click('#nav-queues');
  const queueRow = '#queues-body tr[data-queue-type="browser.queue"]';  // paused, limited
  await page.waitForSelector(`${queueRow}[data-paused="true"]`, { timeout: WAIT });
  await waitText(`${queueRow} .limits-text`, { equals: 'max running 3 · 2.5/s, burst 5' }, 'a viewer sees the limits');
  await waitText(`${queueRow} .jobs`, { equals: 'queued 2' }, 'a viewer sees the counts');
  check(await page.$('#queues-body button, #queues-body .limits-edit, #queues-body form') === null,
        'a viewer sees queue controls');
  const viewerJob = await api('GET', `/v1/workspaces/web/jobs?type=never.run.2`, env.VIEWER_KEY);
  await page.goto(`${URL}/#/jobs/${viewerJob.body.jobs[0].id}`);
  await waitText('#job-state', { equals: 'queued' }, 'a viewer opens a queued job');
  check(await page.$('#job-actions button') === null, 'a viewer sees job actions');

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
