// The payload inputs generated from a template's payloadSchema: one input per property (a number
// input with the bounds for number and integer, a select for enum and const, a checkbox for
// boolean, a text input with the length bounds for string, JSON for objects, arrays, several
// types or no type), required ones marked. An empty input leaves its key out, so the template's
// payload (the request's is merged over it) fills it. The inputs do not refuse what the schema
// refuses: jobd checks the merged payload, and its message is the one shown.
import { el, parseObject } from './ui.js';

function typesOf(schema) {
  const type = schema.type;
  return (Array.isArray(type) ? type : type ? [type] : []).filter((t) => t !== 'null');
}

// How one property is entered: 'enum', 'boolean', 'integer', 'number', 'string' or 'json'.
export function inputKind(schema) {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return 'json';
  if (Array.isArray(schema.enum) && schema.enum.length) return 'enum';
  if ('const' in schema) return 'enum';
  const types = typesOf(schema);
  if (types.length !== 1) return 'json';
  return ['boolean', 'integer', 'number', 'string'].includes(types[0]) ? types[0] : 'json';
}

function shown(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// The HTML bounds of a number input (inclusive), from inclusive or exclusive schema bounds.
function bounds(schema, integer) {
  const attrs = {};
  if (typeof schema.minimum === 'number') attrs.min = schema.minimum;
  else if (typeof schema.exclusiveMinimum === 'number' && integer) {
    attrs.min = Math.floor(schema.exclusiveMinimum) + 1;
  }
  if (typeof schema.maximum === 'number') attrs.max = schema.maximum;
  else if (typeof schema.exclusiveMaximum === 'number' && integer) {
    attrs.max = Math.ceil(schema.exclusiveMaximum) - 1;
  }
  return attrs;
}

function describeBounds(schema) {
  const parts = [];
  if (typeof schema.minimum === 'number') parts.push(`≥ ${schema.minimum}`);
  if (typeof schema.exclusiveMinimum === 'number') parts.push(`> ${schema.exclusiveMinimum}`);
  if (typeof schema.maximum === 'number') parts.push(`≤ ${schema.maximum}`);
  if (typeof schema.exclusiveMaximum === 'number') parts.push(`< ${schema.exclusiveMaximum}`);
  if (typeof schema.minLength === 'number') parts.push(`at least ${schema.minLength} characters`);
  if (typeof schema.maxLength === 'number') parts.push(`at most ${schema.maxLength} characters`);
  if (typeof schema.minItems === 'number') parts.push(`at least ${schema.minItems} items`);
  if (typeof schema.maxItems === 'number') parts.push(`at most ${schema.maxItems} items`);
  return parts.join(', ');
}

// One property: { node, read() } where read() answers [present, value] or throws.
function propertyInput(name, schema, index, required, fallback) {
  const kind = inputKind(schema);
  const id = `payload-field-${index}`;
  const path = `payload.${name}`;
  const hasFallback = fallback !== undefined;
  const common = { id, 'data-property': name, 'data-kind': kind, required, 'aria-required': required ? 'true' : undefined };
  let input;
  let read;
  if (kind === 'enum') {
    const choices = Array.isArray(schema.enum) && schema.enum.length ? schema.enum : [schema.const];
    input = el('select', common,
               el('option', { value: '' }, hasFallback ? `— (template: ${shown(fallback)})` : '—'),
               choices.map((choice, i) => el('option', { value: String(i) }, shown(choice))));
    read = () => (input.value === '' ? [false] : [true, choices[Number(input.value)]]);
  } else if (kind === 'boolean') {
    const initial = hasFallback ? fallback : schema.default;
    input = el('input', { ...common, type: 'checkbox', checked: initial === true, required: false });
    read = () => [true, input.checked];
  } else if (kind === 'integer' || kind === 'number') {
    input = el('input', { ...common, type: 'number', step: kind === 'integer' ? '1' : 'any',
                          ...bounds(schema, kind === 'integer'),
                          placeholder: hasFallback ? `template: ${shown(fallback)}`
                                                   : schema.default !== undefined ? `e.g. ${shown(schema.default)}` : undefined });
    read = () => {
      if (input.validity.badInput) throw new Error(`${path}: is not a number`);
      return input.value === '' ? [false] : [true, Number(input.value)];
    };
  } else if (kind === 'string') {
    const example = Array.isArray(schema.examples) && schema.examples.length ? schema.examples[0] : schema.default;
    input = el('input', { ...common, type: 'text', maxlength: schema.maxLength, minlength: schema.minLength,
                          placeholder: hasFallback ? `template: ${fallback}`
                                                   : example !== undefined ? `e.g. ${shown(example)}` : undefined });
    read = () => (input.value === '' ? [false] : [true, input.value]);
  } else {
    const example = hasFallback ? fallback : schema && schema.default !== undefined ? schema.default
      : schema && Array.isArray(schema.examples) && schema.examples.length ? schema.examples[0] : undefined;
    input = el('textarea', { ...common, rows: 2, spellcheck: 'false',
                             placeholder: example !== undefined ? JSON.stringify(example) : 'JSON' });
    read = () => {
      if (!input.value.trim()) return [false];
      try {
        return [true, JSON.parse(input.value)];
      } catch (e) {
        throw new Error(`${path}: not valid JSON (${e.message})`);
      }
    };
  }
  const title = schema && typeof schema.title === 'string' && schema.title ? schema.title : name;
  const notes = [schema && typeof schema.description === 'string' ? schema.description : '',
                 schema ? describeBounds(schema) : ''].filter(Boolean).join(' · ');
  const label = el('span', {}, title, title.toLowerCase() !== name.toLowerCase() ? el('span', { class: 'mono hint' }, ` ${name}`) : null,
                   required ? el('abbr', { class: 'required', title: 'required' }, ' *') : null);
  const node = kind === 'boolean'
    ? el('div', { class: 'field' }, label, el('label', { class: 'check', for: id }, input, notes || 'yes'))
    : el('label', { class: 'field', for: id }, label, input,
         notes ? el('small', { class: 'hint' }, notes) : null);
  return { node, read };
}

// The inputs for `schema` (a JSON Schema object, or undefined) and the template's default payload.
// Answers { node, read() }: read() builds the payload from the inputs, or throws an Error whose
// message names the field.
export function schemaForm(schema, defaults = {}) {
  const properties = schema && typeof schema.properties === 'object' && !Array.isArray(schema.properties)
    ? schema.properties : null;
  if (!properties || Object.keys(properties).length === 0) {
    const whole = el('textarea', { id: 'payload-json', rows: 4, spellcheck: 'false',
                                   placeholder: JSON.stringify(defaults || {}) }, '');
    return {
      node: el('label', { class: 'field', for: 'payload-json' },
               el('span', {}, 'Payload (JSON object, merged over the template\'s)'), whole),
      read: () => parseObject(whole.value, 'payload'),
    };
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  // The schema comes back as a protobuf Struct, whose key order is not kept: required first,
  // then by name, the same every time.
  const names = Object.keys(properties).sort((a, b) =>
    (required.includes(b) - required.includes(a)) || a.localeCompare(b));
  const inputs = names.map((name, i) =>
    [name, propertyInput(name, properties[name], i, required.includes(name), (defaults || {})[name])]);
  let extra = null;
  if (schema.additionalProperties !== false) {
    extra = el('textarea', { id: 'payload-extra', rows: 2, spellcheck: 'false', placeholder: '{}' });
  }
  return {
    node: el('div', { class: 'schema-form' },
             el('div', { class: 'grid' }, inputs.map(([, input]) => input.node)),
             extra ? el('label', { class: 'field', for: 'payload-extra' },
                        el('span', {}, 'Other payload fields (JSON object, optional)'), extra) : null),
    read() {
      const payload = extra ? parseObject(extra.value, 'payload') : {};
      for (const [name, input] of inputs) {
        const [present, value] = input.read();
        if (present) payload[name] = value;
      }
      return payload;
    },
  };
}
