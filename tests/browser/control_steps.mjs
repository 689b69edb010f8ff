// The browser test's steps for job and queue control (run by dashboard.test.mjs, after the
// jobs table's steps): pause and resume a job from its page, delete it, bulk cancel by a type
// filter (the dry run's count first, then jobd's), and the queues page as a member and as an
// admin. Every wait is a condition with a deadline; every assertion names what differed.
const env = process.env;
const URL = env.JOBD_URL;
const WAIT = 20000;

// t: the test's helpers (see dashboard.test.mjs) and the id of a QUEUED job of another type.
export async function controlSteps(t) {
  const { page, check, text, waitText, shot, api, signIn } = t;

  t.setStep('pause a queued job from its page: PAUSED on the page, the filters and the overview');
  // Type browser.hold: no worker takes it, so it stays QUEUED until the test moves it.
  const hold = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'browser.hold' });
  check(hold.status === 200, `create answered ${hold.status}`);
  const holdId = hold.body.job.id;
  await page.goto(`${URL}/#/jobs/${holdId}`);
  await waitText('#job-state', { equals: 'queued' }, 'the job to pause is not shown queued');
  check(await page.$('#job-resume, #job-delete') === null, 'a queued job offers resume or delete');
  await page.click('#job-pause');
  await waitText('#job-state', { equals: 'paused' }, 'the paused job is not shown paused');
  const pausedJob = await api('GET', `/v1/jobs/${holdId}`, env.MEMBER_KEY);
  check(pausedJob.body.job.state === 'JOB_STATE_PAUSED', `jobd has the job ${pausedJob.body.job.state}`);
  await page.waitForSelector('#job-resume', { timeout: WAIT });
  check(await page.$('#job-pause') === null, 'a paused job still offers Pause');
  // One evaluation: every event redraws the badge, so a node found first may be gone after.
  check(await page.evaluate(() => document.querySelector('#job-state .badge')?.className) === 'badge state-paused',
        'the paused badge is not styled as a state');
  await waitText('#job-timeline li:last-child', { includes: 'state changed paused' }, 'the timeline lacks the pause');
  await shot('03aa-job-paused');
  await page.goto(`${URL}/#/overview`);
  await waitText('.state-card[data-state="PAUSED"] .card-value', { equals: '1' }, 'the overview\'s paused count');
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  await page.click('.filters input[name="state"][value="PAUSED"]');
  await page.click('#apply-filters');
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#jobs-body tr[data-job]')];
    return rows.length === 1 && rows[0].dataset.job === id && rows[0].dataset.state === 'PAUSED';
  }, { timeout: WAIT }, holdId);

  t.setStep('resume it from its page: QUEUED again');
  await page.goto(`${URL}/#/jobs/${holdId}`);
  await waitText('#job-state', { equals: 'paused' }, 'the paused job\'s page');
  await page.click('#job-resume');
  await waitText('#job-state', { equals: 'queued' }, 'the resumed job is not shown queued');
  const resumedJob = await api('GET', `/v1/jobs/${holdId}`, env.MEMBER_KEY);
  check(resumedJob.body.job.state === 'JOB_STATE_QUEUED', `jobd has the job ${resumedJob.body.job.state}`);
  await page.waitForSelector('#job-pause', { timeout: WAIT });
  check(await page.$('#job-resume, #job-delete') === null, 'a resumed job offers resume or delete');

  t.setStep('delete a finished job from its page, confirmed: back to the list, gone from jobd');
  await page.type('#cancel-reason', 'to delete it');
  await page.click('#job-cancel');
  await waitText('#job-state', { equals: 'cancelled' }, 'the job was not cancelled');
  await page.waitForSelector('#job-delete', { timeout: WAIT });
  await page.click('#job-delete');
  await page.waitForFunction(() => location.hash === '#/jobs' && document.querySelector('#jobs-body tr'),
                             { timeout: WAIT });
  const deleted = await api('GET', `/v1/jobs/${holdId}`, env.MEMBER_KEY);
  check(deleted.status === 404, `GetJob of the deleted job answered ${deleted.status}`);

  t.setStep('bulk actions need a filter');
  await page.waitForSelector('#bulk-action', { timeout: WAIT });
  const memberActions = await page.$$eval('#bulk-action option', (o) => o.map((n) => n.value).filter(Boolean));
  check(memberActions.join() === 'cancel,retry,pause,resume', `a member may bulk ${memberActions.join()}`);
  await page.select('#bulk-action', 'cancel');
  await waitText('#bulk-error', { equals: 'Set a filter first (state, type or label) and apply it: ' +
                                          'a bulk action never takes every job of a workspace.' },
                 'an empty filter is not refused');
  check(await page.$('#bulk-confirm') === null, 'an empty filter can be confirmed');

  t.setStep('bulk cancel by type: the dry run\'s count, then jobd\'s');
  const BULK = 1204;
  // Made while no jobs table is open: their live "created" rows would race the filtered read.
  await page.goto(`${URL}/#/overview`);
  for (let made = 0; made < BULK; made += 1000) {
    const requests = Array.from({ length: Math.min(1000, BULK - made) }, () => ({ type: 'browser.bulk' }));
    const batch = await api('POST', '/v1/workspaces/web/jobs:batchCreate', env.MEMBER_KEY, { requests });
    check(batch.status === 200 && batch.body.jobs.length === requests.length,
          `BatchCreateJobs answered ${batch.status}`);
  }
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  await page.type('#filter-type', 'browser.bulk');
  await page.click('#apply-filters');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#jobs-body tr[data-job]')];
    return rows.length === 25 && rows.every((tr) => tr.children[2].textContent === 'browser.bulk');
  }, { timeout: WAIT });
  await page.select('#bulk-action', 'cancel');
  await waitText('#bulk-confirm-text', { equals: 'Cancel all 1,204 matching jobs?' }, 'the dry run\'s count');
  await waitText('#bulk-filter-text', { equals: 'type browser.bulk' }, 'the filter counted');
  await waitText('#bulk-confirm', { equals: 'Cancel 1,204 jobs' }, 'the confirm button');
  const notYet = await api('GET', '/v1/workspaces/web/jobs?type=browser.bulk&state=CANCELLED&page_size=1',
                           env.MEMBER_KEY);
  check(!(notYet.body.jobs || []).length, 'the dry run cancelled jobs');
  await shot('03ab-bulk-confirm');
  await page.click('#bulk-confirm');
  await waitText('#bulk-result', { equals: 'Cancelled 1,204 of 1,204' }, 'the outcome is not jobd\'s count');
  await page.waitForFunction(() => {  // the table read again: every row cancelled, no more rows
    const rows = [...document.querySelectorAll('#jobs-body tr[data-job]')];
    return rows.length === 25 && rows.every((tr) => tr.dataset.state === 'CANCELLED');
  }, { timeout: WAIT });
  check(await page.$('#bulk-confirm') === null, 'the confirmation is still offered');
  const states = {};
  let bulkToken = '';
  do {
    const listedBulk = await api('GET', `/v1/workspaces/web/jobs?type=browser.bulk&page_size=500&view=BASIC${
      bulkToken ? `&page_token=${bulkToken}` : ''}`, env.MEMBER_KEY);
    for (const j of listedBulk.body.jobs || []) states[j.state] = (states[j.state] || 0) + 1;
    bulkToken = listedBulk.body.nextPageToken || '';
  } while (bulkToken);
  check(JSON.stringify(states) === '{"JOB_STATE_CANCELLED":1204}', `the bulk jobs are ${JSON.stringify(states)}`);
  const untouched = await api('GET', `/v1/jobs/${t.otherJobId}`, env.MEMBER_KEY);
  check(untouched.body.job.state === 'JOB_STATE_QUEUED', `a job of another type is ${untouched.body.job.state}`);
  await shot('03ac-bulk-done');

  t.setStep('queues: a queue with its counts; a member pauses it');
  for (let i = 0; i < 2; i += 1) {
    const q = await api('POST', '/v1/workspaces/web/jobs', env.MEMBER_KEY, { type: 'browser.queue' });
    check(q.status === 200, `create answered ${q.status}`);
  }
  await page.click('#nav-queues');
  const queueRow = '#queues-body tr[data-queue-type="browser.queue"]';
  await page.waitForSelector(queueRow, { timeout: WAIT });
  await waitText(`${queueRow} .jobs`, { equals: 'queued 2' }, 'the queue\'s counts');
  await waitText(`${queueRow} .status`, { equals: 'active' }, 'the queue\'s status');
  await waitText(`${queueRow} .limits-text`, { equals: 'none' }, 'the queue\'s limits');
  check(await text(`${queueRow} .oldest`) !== '—', 'no oldest queued age is shown');
  await waitText('#queues-body tr[data-queue-type="browser.bulk"] .jobs', { equals: 'cancelled 1,204' },
                 'the bulk queue\'s counts');
  check(await page.$(`${queueRow} .limits-edit`) === null, 'a member is offered the limits form');
  await page.click(`${queueRow} button.pause`);
  await page.waitForSelector(`${queueRow}[data-paused="true"] .badge.paused`, { timeout: WAIT });
  await waitText(`${queueRow} .status`, { equals: 'paused' }, 'the paused badge');
  await page.waitForSelector(`${queueRow} button.resume`, { timeout: WAIT });
  const queuesNow = await api('GET', '/v1/workspaces/web/queues', env.MEMBER_KEY);
  const pausedQueue = (queuesNow.body.queues || []).find((q) => q.type === 'browser.queue');
  check(pausedQueue && pausedQueue.paused === true, `jobd has the queue as ${JSON.stringify(pausedQueue)}`);
  await shot('03ad-queue-paused');

  t.setStep('queues: an admin sets limits; a refusal shows jobd\'s message');
  await signIn(env.ADMIN_KEY);
  await waitText('#key-role', { equals: 'admin' }, 'admin role');
  await page.$eval('#workspace-input', (n) => { n.value = 'web'; n.dispatchEvent(new Event('change')); });
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#bulk-action', { timeout: WAIT });
  const adminActions = await page.$$eval('#bulk-action option', (o) => o.map((n) => n.value).filter(Boolean));
  check(adminActions.join() === 'cancel,retry,pause,resume,fail,delete', `an admin may bulk ${adminActions.join()}`);
  await page.goto(`${URL}/#/queues`);
  await page.waitForSelector(`${queueRow} .limits-edit summary`, { timeout: WAIT });
  const refusedLimits = await api('POST', '/v1/workspaces/web/queues/browser.queue:setLimits', env.ADMIN_KEY,
                                  { maxRunning: 0 });
  check(refusedLimits.status === 400, `maxRunning 0 answered ${refusedLimits.status}`);
  await page.click(`${queueRow} .limits-edit summary`);
  await page.type(`${queueRow} .limit-max-running`, '0');
  await page.click(`${queueRow} button.set-limits`);
  await waitText(`${queueRow} .limits-error`, { equals: refusedLimits.body.message }, 'the refusal is not jobd\'s message');
  await page.$eval(`${queueRow} .limit-max-running`, (n) => { n.value = ''; });
  await page.type(`${queueRow} .limit-max-running`, '3');
  await page.type(`${queueRow} .limit-rate`, '2.5');
  await page.type(`${queueRow} .limit-burst`, '5');
  await page.click(`${queueRow} button.set-limits`);
  await waitText(`${queueRow} .limits-text`, { equals: 'max running 3 · 2.5/s, burst 5' }, 'the limits shown');
  await waitText(`${queueRow} .jobs`, { equals: 'queued 2' }, 'the counts after the change');
  check(await page.$eval(`${queueRow} .limits-edit`, (n) => !n.open), 'the limits form stayed open');
  const limited = ((await api('GET', '/v1/workspaces/web/queues', env.ADMIN_KEY)).body.queues || [])
    .find((q) => q.type === 'browser.queue');
  check(limited && limited.maxRunning === 3 && limited.maxStartsPerSecond === 2.5 && limited.burst === 5 &&
        limited.paused === true, `jobd has the queue as ${JSON.stringify(limited)}`);
  await shot('03ae-queue-limits');

  t.setStep('bulk delete by type, as an admin');
  await page.goto(`${URL}/#/jobs`);
  await page.waitForSelector('#jobs-body tr[data-job]', { timeout: WAIT });
  await page.type('#filter-type', 'browser.bulk');
  await page.click('#apply-filters');
  await page.select('#bulk-action', 'delete');
  await waitText('#bulk-confirm-text', { equals: 'Delete all 1,204 matching jobs?' }, 'the dry run\'s count');
  await page.click('#bulk-confirm');
  await waitText('#bulk-result', { equals: 'Deleted 1,204 of 1,204' }, 'the outcome is not jobd\'s count');
  await waitText('#jobs-body', { equals: 'No jobs match.' }, 'the table still shows deleted jobs');
  const left = await api('GET', '/v1/workspaces/web/jobs?type=browser.bulk&page_size=1', env.ADMIN_KEY);
  check(left.status === 200 && !(left.body.jobs || []).length, `jobs left: ${JSON.stringify(left.body)}`);
  await signIn(env.MEMBER_KEY);
  await waitText('#key-role', { equals: 'member' }, 'member role');
}
