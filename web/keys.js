// API keys (admin keys only): the list, a form to create one (its secret is shown once, with
// a copy button) and revocation.
import { api } from './api.js';
import { clear, el, formatTime, notice, showError } from './ui.js';

const ROLES = ['viewer', 'member', 'worker', 'admin'];

export function renderKeys(view) {
  const error = el('div', { id: 'keys-error' });
  const tbody = el('tbody', { id: 'keys-body' });
  const secret = el('div', { id: 'key-secret' });
  const name = el('input', { id: 'key-name-input', required: true, placeholder: 'e.g. ci-bot' });
  const role = el('select', { id: 'key-role-input' }, ROLES.map((r) => el('option', { value: r }, r)));
  const workspace = el('input', { id: 'key-workspace-input', placeholder: 'workspace (not for admin)' });
  const field = (label, input) => el('label', { class: 'field' }, el('span', {}, label), input);
  const form = el('form', { class: 'card', id: 'key-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(secret);
    try {
      const created = await api.createKey({ name: name.value.trim(),
                                            role: `API_KEY_ROLE_${role.value.toUpperCase()}`,
                                            workspaceId: workspace.value.trim() });
      const value = el('code', { id: 'new-secret' }, created.secret);
      clear(secret, el('div', { class: 'card secret', role: 'status' },
                       el('p', {}, 'The new key, shown only this once:'), value, ' ',
                       el('button', { id: 'copy-secret', type: 'button', onclick: async () => {
                         try {
                           await navigator.clipboard.writeText(created.secret);
                           notice('Copied.');
                         } catch (err) {
                           notice('Copying failed: select the key and copy it.', 'error');
                         }
                       } }, 'Copy')));
      name.value = '';
      load();
    } catch (err) {
      showError(secret, err);
    }
  } },
  el('h2', {}, 'Create a key'), el('div', { class: 'grid' }, field('Name', name), field('Role', role), field('Workspace', workspace)),
  el('button', { type: 'submit', id: 'key-create' }, 'Create'));
  view.append(el('h1', {}, 'API keys'), form, secret, error,
              el('div', { class: 'table-wrap' },
                 el('table', { class: 'table' },
                    el('thead', {}, el('tr', {}, ['name', 'role', 'workspace', 'prefix', 'created', 'state', ''].map((h) => el('th', {}, h)))),
                    tbody)));

  async function load() {
    try {
      const rows = [];
      let token = '';
      do {
        const page = await api.listKeys(token);
        for (const key of page.apiKeys || []) rows.push(key);
        token = page.nextPageToken || '';
      } while (token);
      clear(tbody, rows.map((key) => el('tr', { 'data-key': key.id },
        el('td', {}, key.name), el('td', {}, (key.role || '').replace('API_KEY_ROLE_', '').toLowerCase()),
        el('td', {}, key.workspaceId || 'every'), el('td', { class: 'mono' }, key.keyPrefix || ''),
        el('td', {}, formatTime(key.createTime)),
        el('td', {}, key.revokeTime ? 'revoked' : 'active'),
        el('td', {}, key.revokeTime ? '' : el('button', { class: 'revoke', onclick: async () => {
          if (!confirm(`Revoke ${key.name}? Its calls and streams stop on every replica.`)) return;
          try {
            await api.revokeKey(key.id);
            notice(`Revoked ${key.name}.`);
            load();
          } catch (err) {
            notice(err.message, 'error');
          }
        } }, 'Revoke')))));
      clear(error);
    } catch (e) {
      showError(error, e);
    }
  }
  load();
  return () => {};
}
