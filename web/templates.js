// Job templates: the workspace's and the shared ones, a form to make one (defaults and a payload
// schema), and for the chosen template (#/templates/ID) its defaults, its schema and a "create a
// job from this template" form generated from the schema (schema_form.js). Errors are shown in
// the API's words.
import { api, listAll } from './api.js';
import { clear, el, formatTime, json, notice, parseObject, showError } from './ui.js';
import { schemaForm } from './schema_form.js';

const field = (label, input) => el('label', { class: 'field' }, el('span', {}, label), input);

export function renderTemplates(view, session, selectedId) {
  const ws = session.workspace;
  const error = el('div', { id: 'templates-error' });
  const tbody = el('tbody', { id: 'templates-body' });
  const detail = el('section', { id: 'template-detail', class: 'detail' });
  view.append(el('h1', {}, `Job templates for ${ws}`));
  if (session.can('manage_setup')) view.append(newTemplateForm(session, (created) => {
    location.hash = `#/templates/${encodeURIComponent(created.id)}`;  // the router redraws
  }));
  view.append(error,
              el('div', { class: 'table-wrap' },
                 el('table', { class: 'table templates' },
                    el('thead', {}, el('tr', {}, ['name', 'workspace', 'type', 'description', 'updated', '']
                      .map((h) => el('th', {}, h)))),
                    tbody)),
              detail);

  let templates = [];

  async function load() {
    try {
      templates = await listAll((token) => api.listTemplates(ws, token), 'jobTemplates');
      clear(tbody, templates.map(rowFor));
      if (!templates.length) {
        tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 6 }, 'No templates yet.')));
      }
      clear(error);
    } catch (e) {
      return showError(error, e);
    }
    if (selectedId) {
      const chosen = templates.find((t) => t.id === selectedId);
      if (chosen) drawDetail(chosen);
      else {
        // Not listed (another workspace's, or deleted): ask for it, to show jobd's answer.
        try {
          drawDetail((await api.getTemplate(selectedId)).jobTemplate);
        } catch (e) {
          showError(detail, e);
        }
      }
    }
  }

  function canChange(t) {
    return session.can('manage_setup') && (Boolean(t.workspaceId) || session.can('admin'));
  }

  function rowFor(t) {
    const defaults = t.defaults || {};
    return el('tr', { 'data-template': t.id, 'data-template-name': t.name,
                      'data-selected': t.id === selectedId },
              el('td', {}, el('a', { class: 'open-template', href: `#/templates/${encodeURIComponent(t.id)}` }, t.name)),
              el('td', {}, t.workspaceId || el('span', { class: 'shared' }, 'shared')),
              el('td', { class: 'mono' }, defaults.type || ''),
              el('td', { class: 'wrap' }, t.description || ''),
              el('td', {}, formatTime(t.updateTime)),
              el('td', {}, canChange(t) ? el('button', { class: 'delete', onclick: () => remove(t) }, 'Delete') : null));
  }

  async function remove(t) {
    if (!confirm(`Delete the template ${t.name}? Schedules that name it will fail to run.`)) return;
    try {
      await api.deleteTemplate(t.id);
      notice(`Deleted ${t.name}.`);
      if (t.id === selectedId) {
        location.hash = '#/templates';
        return;
      }
      load();
    } catch (e) {
      notice(e.message, 'error');
    }
  }

  function drawDetail(t) {
    const defaults = t.defaults || {};
    // CreateJob looks the name up in the workspace first: a workspace template of the same name
    // hides a shared one.
    const hidden = !t.workspaceId && templates.some((o) => o.workspaceId && o.name === t.name);
    clear(detail,
          el('h2', { id: 'template-title' }, `Template ${t.name}`,
             ' ', el('span', { class: 'hint' }, t.workspaceId ? `in ${t.workspaceId}` : 'shared')),
          t.description ? el('p', { id: 'template-description' }, t.description) : null,
          session.can('create') ? jobForm(t, hidden) : null,
          el('div', { class: 'columns' },
             el('section', {}, el('h3', {}, 'Defaults'), json(defaults)),
             el('section', {}, el('h3', {}, 'Payload schema'),
                t.payloadSchema ? json(t.payloadSchema) : el('p', { class: 'hint' }, 'None: any JSON object.'))));
  }

  function jobForm(t, hidden) {
    const generated = schemaForm(t.payloadSchema, (t.defaults || {}).payload || {});
    const error = el('div', { id: 'template-job-error' });
    const result = el('div', { id: 'template-job-result' });
    // novalidate: a value the schema refuses still goes to jobd, whose message names the field.
    return el('form', { class: 'card create', id: 'template-job-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      clear(error);
      clear(result);
      let payload;
      try {
        payload = generated.read();
      } catch (err) {
        return showError(error, err);
      }
      try {
        const { job } = await api.createJob(ws, { template: t.name, payload });
        clear(result, el('p', { role: 'status' }, 'Created job ',
                         el('a', { id: 'template-job-link', class: 'mono', href: `#/jobs/${encodeURIComponent(job.id)}` },
                            job.id), ` (${job.type}).`));
        notice(`Created ${job.id}`);
      } catch (err) {
        showError(error, err);  // e.g. "payload.pages: must be at most 1000"
      }
    } },
    el('h3', {}, 'Create a job from this template'),
    hidden ? el('p', { class: 'error' }, `A template of ${ws} is also named ${t.name}: jobs made by this name use that one.`) : null,
    el('p', { class: 'hint' }, 'Empty fields take the template\'s payload. * marks a required field.'),
    generated.node,
    el('button', { type: 'submit', id: 'template-job-submit' }, 'Create job'),
    error, result);
  }

  load();
  return () => {};
}

function newTemplateForm(session, onCreated) {
  const name = el('input', { id: 'template-name', required: true, placeholder: 'e.g. nightly-report' });
  const type = el('input', { id: 'template-type', required: true, placeholder: 'e.g. report' });
  const description = el('input', { id: 'template-description-input', placeholder: 'what it is for' });
  const payload = el('textarea', { id: 'template-payload', rows: 3, spellcheck: 'false' }, '{}');
  const schema = el('textarea', { id: 'template-schema', rows: 6, spellcheck: 'false',
                                  placeholder: '{"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}' });
  const shared = session.can('admin') ? el('input', { id: 'template-shared', type: 'checkbox' }) : null;
  const error = el('div', { id: 'template-create-error' });
  const form = el('form', { class: 'card create', id: 'template-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(error);
    const body = { workspaceId: shared && shared.checked ? '' : session.workspace, name: name.value.trim(),
                   description: description.value.trim(), defaults: { type: type.value.trim() } };
    try {
      body.defaults.payload = parseObject(payload.value, 'payload');
      if (schema.value.trim()) body.payloadSchema = parseObject(schema.value, 'payload schema');
    } catch (err) {
      return showError(error, err);
    }
    try {
      const { jobTemplate } = await api.createTemplate(body);
      notice(`Created the template ${jobTemplate.name}.`);
      name.value = '';
      onCreated(jobTemplate);
    } catch (err) {
      showError(error, err);
    }
  } },
  el('h2', {}, 'New template'),
  el('div', { class: 'grid' }, field('Name', name), field('Job type', type), field('Description', description),
     shared ? el('label', { class: 'check' }, shared, 'shared with every workspace') : null),
  el('div', { class: 'columns' }, field('Default payload (JSON object)', payload),
     field('Payload schema (JSON Schema subset; empty: any object)', schema)),
  el('button', { type: 'submit', id: 'template-create' }, 'Create template'),
  error);
  return el('details', { class: 'create-wrap' }, el('summary', { id: 'template-open' }, 'New template'), form);
}
