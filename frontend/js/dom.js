// Small DOM helpers shared by the portal pages: element building, formatting, error display,
// toasts and dialogs. Everything is built with DOM APIs (no innerHTML with data, no inline
// styles or handlers), so the pages run under CSP default-src 'self'.

import { ApiError, SessionEndedError } from './api.js';

/** h('a', {href, class, onclick}, 'text', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (key === 'checked' || key === 'selected') el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

let uid = 0;
export function uniqueId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Visually hidden text, for screen-reader-only context in buttons and links. */
export const srOnly = (text) => h('span', { class: 'visually-hidden' }, text);

const dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateFmt.format(d);
}

export function formatDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateTimeFmt.format(d);
}

/** <time datetime> element showing a date (or date and time). */
export function timeEl(iso, withTime = false) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso }, withTime ? formatDateTime(iso) : formatDate(iso));
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[i]}`;
}

export function formatWait(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
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
    for (const [field, messages] of Object.entries(fields)) {
      out[field] = (out[field] || []).concat(flattenMessages(messages));
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
 * A 409 (duplicate name, username or email) rewritten as a field error on `field`, so it
 * shows next to the field that caused it. Other errors pass through unchanged.
 */
export function conflictOn(err, field) {
  if (err instanceof ApiError && err.status === 409 && !err.errors) {
    return new ApiError(409, { ...(err.body || {}), message: err.message, errors: { json: { [field]: [err.message] } } }, err.headers);
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
  for (const [field, messages] of Object.entries(perField)) {
    const name = fieldMap[field] || field;
    const control =
      root.querySelector(`[data-field="${CSS.escape(name)}"]`) ||
      (root.elements && root.elements.namedItem && root.elements.namedItem(name));
    const target = control instanceof RadioNodeList ? control[0] : control;
    if (target) {
      setFieldError(target, messages.join(' '));
      first = first || target;
    } else {
      leftover.push(`${field}: ${messages.join(' ')}`);
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

/* ---------- Toasts ---------- */

function toastRegion() {
  let region = $('#toast-region');
  if (!region) {
    region = h('div', { id: 'toast-region', class: 'toast-region', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  return region;
}

export function toast(text, kind = 'info') {
  const region = toastRegion();
  const item = h('div', { class: kind === 'error' ? 'toast toast--error' : 'toast' }, text);
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4500);
}

/** Report an error that has no form to live in. */
export function reportError(err) {
  if (err instanceof SessionEndedError) return;
  toast(err instanceof Error ? err.message : String(err), 'error');
}

/* ---------- Dialogs ---------- */

/**
 * A modal form dialog. build(form) fills the body; onSubmit(form) may throw an ApiError,
 * shown in the dialog. Resolves with onSubmit's result, or null when cancelled.
 */
export function formDialog({ title, description, submitLabel = 'Save', danger = false, narrow = false, build, onSubmit }) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dlg-title');
    const descId = description ? uniqueId('dlg-desc') : null;
    const body = h('div', { class: 'modal__body' }, h('div', { class: 'form-message alert alert--error', role: 'alert', hidden: true }));
    const submit = h('button', { type: 'submit', class: danger ? 'btn btn--danger' : 'btn' }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn btn--secondary', value: 'cancel' }, 'Cancel');
    const form = h(
      'form',
      { class: 'modal__form', novalidate: true },
      h('div', { class: 'modal__head' }, h('h2', { id: titleId }, title), description ? h('p', { id: descId, class: 'muted' }, description) : null),
      body,
      h('div', { class: 'modal__foot' }, cancel, submit),
    );
    const dialog = h('dialog', { class: narrow ? 'modal modal--narrow' : 'modal', 'aria-labelledby': titleId, 'aria-describedby': descId }, form);
    let result = null;
    if (build) build(body, form);
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      submit.disabled = true;
      form.setAttribute('aria-busy', 'true');
      try {
        result = onSubmit ? await onSubmit(form) : true;
        if (result === undefined) result = true;
        dialog.close();
      } catch (err) {
        if (err instanceof SessionEndedError) return;
        showError(form, err);
      } finally {
        submit.disabled = false;
        form.removeAttribute('aria-busy');
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const firstInput = $('input:not([type=hidden]):not([hidden]), select, textarea', body);
    (firstInput || submit).focus();
  });
}

/** Ask before doing something irreversible. Resolves true when confirmed. */
export async function confirmDialog({ title, message, confirmLabel = 'Delete', action }) {
  const result = await formDialog({
    title,
    description: message,
    submitLabel: confirmLabel,
    danger: true,
    narrow: true,
    onSubmit: async () => {
      if (action) await action();
      return true;
    },
  });
  return result === true;
}

/* ---------- Form controls ---------- */

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

/* ---------- Lists ---------- */

/** Previous / Page x of y / Next. onPage(page) is called with the page wanted. */
export function pager(label, onPage) {
  const prev = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, '← Previous', srOnly(' page'));
  const next = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Next', srOnly(' page'), ' →');
  const info = h('p', {});
  const nav = h('nav', { class: 'pagination', 'aria-label': label, hidden: true }, prev, info, next);
  let current = 1;
  prev.addEventListener('click', () => onPage(current - 1));
  next.addEventListener('click', () => onPage(current + 1));
  return {
    el: nav,
    update(data) {
      const pages = Math.max(1, Math.ceil(data.total / data.per_page));
      current = data.page;
      info.textContent = `Page ${data.page} of ${pages} · ${data.total} in all`;
      prev.disabled = data.page <= 1;
      next.disabled = data.page >= pages;
      nav.hidden = pages <= 1;
    },
  };
}

/** A table with a caption and column headers; returns {el, body}. cols: [{label, class?, hidden?}] */
export function table(caption, cols, { stack = true } = {}) {
  const body = h('tbody', {});
  const el = h('div', { class: 'table-wrap' },
    h('table', { class: stack ? 'table table--stack' : 'table' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.class }, c.srOnly ? srOnly(c.label) : c.label)))),
      body));
  return { el, body, colspan: cols.length };
}

/** One full-width row for loading / empty / error states. */
export function stateRow(colspan, title, text, action) {
  return h('tr', {}, h('td', { colspan, class: 'state' },
    title === 'loading' ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), text || 'Loading…']
      : [h('h3', {}, title), text ? h('p', {}, text) : null, action || null]));
}
