// Form controls with their labels, and API errors shown next to what caused them.

import { ApiError, SessionEndedError } from './api.js';
import { $, $$, h, uniqueId } from './elements.js';
import { toast } from './toasts.js';

/* ---------- Controls ---------- */

/** A labelled field: returns {wrap, control}. type 'textarea' and 'select' are supported. */
export function field({ label, name, type = 'text', value = '', required = false, hint, options, autocomplete, attrs = {} }) {
  const id = uniqueId(name);
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (type === 'textarea') {
    control = h('textarea', { id, name, rows: 3, required, 'aria-describedby': hintId, ...attrs });
    control.value = value ?? '';
  } else if (type === 'select') {
    control = h('select', { id, name, required, 'aria-describedby': hintId, ...attrs },
      (options || []).map((opt) => h('option', { value: opt.value, selected: String(opt.value) === String(value ?? '') }, opt.label)));
  } else {
    control = h('input', { id, name, type, required, autocomplete, 'aria-describedby': hintId, ...attrs });
    control.value = value ?? '';
  }
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
  return { wrap, control };
}

/** A checkbox with its label. */
export function checkbox({ label, name, value = 'on', checked = false }) {
  const id = uniqueId(name);
  const input = h('input', { type: 'checkbox', id, name, value, checked });
  return { wrap: h('div', { class: 'field field--inline' }, input, h('label', { for: id }, label)), control: input };
}

/** Fieldset of checkboxes; returns {wrap, values()}. */
export function checkList({ legend, name, items, selected = [], empty = 'None yet.', scroll = false }) {
  const chosen = new Set(selected.map(String));
  const list = h('ul', { class: scroll ? 'check-list check-list--scroll' : 'check-list' });
  for (const item of items) {
    const id = uniqueId(name);
    list.append(h('li', {},
      h('input', { type: 'checkbox', id, name, value: String(item.value), checked: chosen.has(String(item.value)) }),
      h('label', { for: id }, item.label)));
  }
  const wrap = h('fieldset', { 'data-field': name }, h('legend', {}, legend), items.length ? list : h('p', { class: 'check-list__empty' }, empty));
  return {
    wrap,
    values: () => $$(`input[name="${name}"]:checked`, wrap).map((el) => Number(el.value)),
  };
}

/* ---------- Errors next to what caused them ---------- */

function flattenMessages(value) {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(flattenMessages);
  if (typeof value === 'object') return Object.values(value).flatMap(flattenMessages);
  return [String(value)];
}

/** {field: [messages]} from a 422 body, whatever the location (json, form, files, query). */
export function fieldErrors(err) {
  const out = {};
  if (!(err instanceof ApiError) || !err.errors || typeof err.errors !== 'object') return out;
  for (const fields of Object.values(err.errors)) {
    if (!fields || typeof fields !== 'object' || Array.isArray(fields)) continue;
    for (const [name, messages] of Object.entries(fields)) {
      out[name] = (out[name] || []).concat(flattenMessages(messages));
    }
  }
  return out;
}

export function clearErrors(root) {
  for (const el of $$('.field-error', root)) el.remove();
  for (const el of $$('[aria-invalid="true"]', root)) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && !id.endsWith('-error'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  const msg = $('.form-message', root);
  if (msg) {
    msg.textContent = '';
    msg.hidden = true;
  }
}

/** Put a message under a control (input, select, textarea or fieldset) and point aria at it. */
export function setFieldError(control, text) {
  const id = `${control.id || uniqueId('field')}-error`;
  if (!control.id) control.id = id.replace(/-error$/, '');
  let note = document.getElementById(id);
  if (!note) {
    note = h('p', { class: 'field-error', id });
    const holder = control.closest('.field') || control;
    if (holder === control && control.tagName !== 'FIELDSET') control.after(note);
    else holder.append(note);
  }
  note.textContent = text;
  if (control.tagName !== 'FIELDSET') {
    control.setAttribute('aria-invalid', 'true');
    const ids = new Set((control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    ids.add(id);
    control.setAttribute('aria-describedby', [...ids].join(' '));
  } else {
    control.setAttribute('aria-describedby', id);
  }
}

/** Form-level message, in the form's .form-message element (role=alert). */
export function setFormMessage(root, text, kind = 'error') {
  const msg = $('.form-message', root);
  if (!msg) return false;
  msg.className = `form-message alert alert--${kind}`;
  msg.textContent = text;
  msg.hidden = !text;
  return true;
}

/**
 * A 409 (duplicate name, username or email) rewritten as a field error on `name`, so it
 * shows next to the field that caused it. Other errors pass through unchanged.
 */
export function conflictOn(err, name) {
  if (err instanceof ApiError && err.status === 409 && !err.errors) {
    return new ApiError(409, { ...(err.body || {}), message: err.message, errors: { json: { [name]: [err.message] } } }, err.headers);
  }
  return err;
}

/**
 * Show an API error inside a form: 422 field messages under their fields, the rest as the
 * form's message. fieldMap renames API fields to control names. Returns true if shown.
 */
export function showError(root, err, fieldMap = {}) {
  if (err instanceof SessionEndedError) return true;
  clearErrors(root);
  const perField = fieldErrors(err);
  const leftover = [];
  let first = null;
  for (const [apiName, messages] of Object.entries(perField)) {
    const name = fieldMap[apiName] || apiName;
    const control =
      root.querySelector(`[data-field="${CSS.escape(name)}"]`) ||
      (root.elements && root.elements.namedItem && root.elements.namedItem(name));
    const target = control instanceof RadioNodeList ? control[0] : control;
    if (target) {
      setFieldError(target, messages.join(' '));
      first = first || target;
    } else {
      leftover.push(`${apiName}: ${messages.join(' ')}`);
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  const summary = Object.keys(perField).length
    ? ['Please correct the highlighted fields.', ...leftover].join(' ')
    : message;
  if (!setFormMessage(root, summary)) toast(summary, 'error');
  // Focus the first field in reading order that needs attention.
  const target = root.querySelector('[aria-invalid="true"]') || first;
  if (target && typeof target.focus === 'function') target.focus();
  return true;
}
