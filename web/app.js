// The dashboard's shell: sign-in with an API key (kept in sessionStorage only), the header
// with the key's name, role and workspace, the navigation, and a hash router over the views.
import { ApiError, api, storeKey, storedKey } from './api.js';
import { clear, el, showError } from './ui.js';
import { renderOverview } from './overview.js';
import { renderJobs } from './jobs.js';
import { renderJob } from './job.js';
import { renderQueues } from './queues.js';
import { renderKeys } from './keys.js';
import { renderSchedules } from './schedules.js';
import { renderTemplates } from './templates.js';

const main = document.getElementById('app');
const session = {
  me: null,  // WhoAmIResponse
  workspace: '',
  can(permission) {
    return Boolean(this.me && (this.me.permissions || []).includes(permission));
  },
};
let cleanup = null;  // the current view's streams, closed when the view changes

function signIn(message) {
  storeKey('');
  session.me = null;
  clear(document.getElementById('whoami'));
  clear(document.getElementById('nav'));
  const input = el('input', { id: 'api-key', type: 'password', autocomplete: 'off',
                              required: true, placeholder: 'jobd_…', 'aria-label': 'API key' });
  const error = el('div', { id: 'sign-in-error' });
  if (message) showError(error, new Error(message));
  const form = el('form', { class: 'card sign-in', onsubmit: async (e) => {
    e.preventDefault();
    storeKey(input.value.trim());
    await start(error);
  } },
  el('h1', {}, 'Sign in to jobd'),
  el('label', { for: 'api-key' }, 'API key'),
  input,
  el('button', { type: 'submit', id: 'sign-in' }, 'Sign in'),
  el('p', { class: 'hint' }, 'The key stays in this tab (sessionStorage) and is sent only to jobd.'),
  error);
  clear(main, form);
  input.focus();
}

function header() {
  const me = session.me;
  const role = (me.role || '').replace('API_KEY_ROLE_', '').toLowerCase();
  const workspaceField = me.workspaceId
    ? el('span', { class: 'workspace', id: 'workspace-name' }, me.workspaceId)
    : el('input', { id: 'workspace-input', value: session.workspace, 'aria-label': 'workspace',
                    placeholder: 'workspace', size: 12, onchange: (e) => {
                      session.workspace = e.target.value.trim();
                      sessionStorage.setItem('jobd.workspace', session.workspace);
                      route();
                    } });
  clear(document.getElementById('whoami'),
        el('span', { id: 'key-name' }, me.name), ' · ',
        el('span', { id: 'key-role', class: `role role-${role}` }, role), ' · ',
        workspaceField, ' ',
        el('button', { id: 'sign-out', class: 'link', onclick: () => signIn() }, 'Sign out'));
  const links = [['#/overview', 'Overview'], ['#/jobs', 'Jobs'], ['#/queues', 'Queues']];
  if (session.can('read_setup')) links.push(['#/schedules', 'Schedules'], ['#/templates', 'Templates']);
  if (session.can('admin')) links.push(['#/keys', 'API keys']);
  clear(document.getElementById('nav'),
        links.map(([href, text]) => el('a', { href, id: `nav-${text.split(' ').pop().toLowerCase()}` },
                                       text)));
}

async function start(errorArea) {
  try {
    session.me = await api.whoami();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      return signIn(e.message);
    }
    return showError(errorArea || main, e);
  }
  session.workspace = session.me.workspaceId || sessionStorage.getItem('jobd.workspace') || 'default';
  header();
  if (!location.hash || location.hash === '#/') location.hash = '#/overview';
  else route();
}

// The id in #/NAME/ID, or '' for #/NAME.
function detailId(hash, name) {
  const match = hash.match(new RegExp(`^#/${name}/([^/?]+)$`));
  return match ? decodeURIComponent(match[1]) : '';
}

function route() {
  if (!session.me) return;
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash || '#/overview';
  for (const a of document.querySelectorAll('#nav a')) {
    a.setAttribute('aria-current', hash.startsWith(a.getAttribute('href')) ? 'page' : 'false');
  }
  const view = el('div', { class: 'view' });
  clear(main, view);
  const job = hash.match(/^#\/jobs\/([^/?]+)$/);
  if (job) cleanup = renderJob(view, session, decodeURIComponent(job[1]));
  else if (hash.startsWith('#/jobs')) cleanup = renderJobs(view, session);
  else if (hash.startsWith('#/queues')) cleanup = renderQueues(view, session);
  else if (hash.startsWith('#/keys') && session.can('admin')) cleanup = renderKeys(view, session);
  else if (hash.startsWith('#/schedules') && session.can('read_setup')) {
    cleanup = renderSchedules(view, session, detailId(hash, 'schedules'));
  } else if (hash.startsWith('#/templates') && session.can('read_setup')) {
    cleanup = renderTemplates(view, session, detailId(hash, 'templates'));
  } else cleanup = renderOverview(view, session);
}

window.addEventListener('hashchange', route);
if (storedKey()) start();
else signIn();
