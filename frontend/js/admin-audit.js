// Admin: the Audit log tab. Every sign-in, change and download, newest first, filtered by
// action, by who did it, by whom it concerned, by document and by UTC dates ("who downloaded
// what, when"), and exported as CSV with the same filters. The filters live in the address.
// The first page of events is asked for at once: nothing (not the users, never the documents)
// is loaded before it; documents are found by typing part of their title.

import { api, ApiError } from './api.js';
import { h, srOnly } from './elements.js';
import { plural, timeEl } from './format.js';
import { clearErrors, field, setFieldError, showError } from './forms.js';
import { reportError } from './toasts.js';
import { pager, stateRow, table } from './tables.js';
import { get, onChange } from './admin-data.js';
import { ACTIONS, actionLabel, detailText } from './audit-format.js';
import { combobox } from './combobox.js';
import { download } from './downloads.js';
import { readListState, writeListState } from './url-state.js';

const PER_PAGE = 50;
const SUGGESTIONS = 10;
const FILTERS = ['action', 'actor_id', 'target_user_id', 'document_id', 'from', 'to'];
// Its own key: the Documents tab keeps its page as `page` in the same address.
const PAGE_KEY = 'audit_page';

const EMPTY = Object.fromEntries(FILTERS.map((k) => [k, '']));

function userOptions(users, anyLabel) {
  return [h('option', { value: '' }, anyLabel), ...users.map((u) => h('option', { value: u.id }, u.username))];
}

export function mountAudit(panel) {
  const fromAddress = readListState([...FILTERS, PAGE_KEY]);
  const filters = Object.fromEntries(FILTERS.map((k) => [k, fromAddress[k]]));
  let page = Math.max(1, Number.parseInt(fromAddress[PAGE_KEY], 10) || 1);
  let loadSeq = 0;
  let users = null; // id -> username, once loaded (the rows do not wait for it)
  let shown = [];
  let docChoice = null; // {value, label} of the document filter

  const action = field({ label: 'Action', name: 'action', type: 'select', options: [{ value: '', label: 'Any action' }, ...ACTIONS.map(([value, label]) => ({ value, label }))] });
  const actor = field({ label: 'Who', name: 'actor_id', type: 'select', options: [{ value: '', label: 'Anyone' }] });
  const target = field({ label: 'Concerning user', name: 'target_user_id', type: 'select', options: [{ value: '', label: 'Any user' }] });
  const docPicker = combobox({
    label: 'Document', name: 'document', placeholder: 'Type part of a title',
    search: async (text) => {
      const data = await api('/api/admin/documents', { query: { q: text, per_page: SUGGESTIONS } });
      return data.items.map((d) => ({ value: String(d.id), label: d.title }));
    },
    onPick: (choice) => { docChoice = choice; },
  });
  const from = field({ label: 'From (UTC date)', name: 'from', type: 'date' });
  const to = field({ label: 'To (UTC date, included)', name: 'to', type: 'date' });
  const reset = h('button', { type: 'button', class: 'btn btn--secondary' }, 'Reset filters');
  const form = h('form', { class: 'filter-bar', role: 'search', 'aria-label': 'Filter the audit log', novalidate: true },
    h('div', { class: 'form-message alert alert--error filter-bar__message', role: 'alert', hidden: true }),
    action.wrap, actor.wrap, target.wrap, docPicker.wrap, from.wrap, to.wrap,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Apply'), reset));
  const exportLink = h('a', { class: 'btn btn--secondary', href: '/api/admin/audit.csv', download: '' }, 'Export CSV', srOnly(' of the events these filters keep'));
  exportLink.addEventListener('click', (e) => download(e, exportLink.getAttribute('href')));
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const auditTable = table('Audit events, newest first', [
    { label: 'When (UTC shown in your time zone)' }, { label: 'Action' }, { label: 'Who' }, { label: 'Document' }, { label: 'From' }, { label: 'Details' },
  ]);
  const auditPager = pager('Audit log pages', (p) => {
    page = p;
    remember();
    load();
  });
  panel.append(h('section', { class: 'panel', 'aria-labelledby': 'audit-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'audit-heading' }, 'Audit log'), exportLink),
    form, status, auditTable.el, auditPager.el));

  const applied = () => Object.fromEntries(FILTERS.filter((k) => filters[k]).map((k) => [k, filters[k]]));

  function remember() {
    writeListState({ ...filters, [PAGE_KEY]: page > 1 ? page : '' });
    const qs = new URLSearchParams(applied()).toString();
    exportLink.setAttribute('href', `/api/admin/audit.csv${qs ? `?${qs}` : ''}`);
  }

  function showFilters() {
    action.control.value = filters.action;
    actor.control.value = filters.actor_id;
    target.control.value = filters.target_user_id;
    from.control.value = filters.from;
    to.control.value = filters.to;
    syncDateBounds();
    if (!filters.document_id) docPicker.set(null);
    else if (!docChoice || docChoice.value !== filters.document_id) docPicker.set({ value: filters.document_id, label: `Document #${filters.document_id}` });
    docChoice = filters.document_id ? { value: filters.document_id, label: docPicker.input.value } : null;
  }

  function syncDateBounds() {
    to.control.min = from.control.value || '';
    from.control.max = to.control.value || '';
  }
  from.control.addEventListener('change', syncDateBounds);
  to.control.addEventListener('change', syncDateBounds);

  async function fillUsers() {
    const list = await get('users');
    users = new Map(list.map((u) => [u.id, u.username]));
    actor.control.replaceChildren(...userOptions(list, 'Anyone'));
    target.control.replaceChildren(...userOptions(list, 'Any user'));
    actor.control.value = filters.actor_id;
    target.control.value = filters.target_user_id;
    if (shown.length) auditTable.body.replaceChildren(...shown.map(row));
  }

  function userName(id) {
    if (!id) return null;
    if (!users) return `user #${id}`;
    return users.has(id) ? users.get(id) : `a deleted user (#${id})`;
  }

  function documentCell(ev) {
    if (!ev.document_id) return h('span', { class: 'muted' }, '—');
    const title = ev.document_title || (ev.document_deleted ? 'A deleted document' : `Document #${ev.document_id}`);
    return [h('span', { class: 'doc-title' }, title), ev.document_deleted ? h('span', { class: 'badge badge--muted' }, 'Deleted') : null];
  }

  function row(ev) {
    const about = ev.target_user_id ? `concerning ${userName(ev.target_user_id)}` : null;
    return h('tr', { 'data-id': ev.id },
      h('td', { 'data-label': 'When', class: 'nowrap' }, timeEl(ev.at, true)),
      h('td', { 'data-label': 'Action' }, actionLabel(ev.action)),
      h('td', { 'data-label': 'Who' }, ev.actor ? ev.actor.username : h('span', { class: 'muted' }, 'unknown')),
      h('td', { 'data-label': 'Document' }, documentCell(ev)),
      h('td', { 'data-label': 'From', class: 'mono nowrap' }, ev.ip || '—'),
      h('td', { 'data-label': 'Details' }, h('span', { class: 'doc-desc' },
        [about, detailText(ev.action, ev.detail)].filter(Boolean).join(' · ') || '—')));
  }

  async function load() {
    const seq = ++loadSeq;
    if (!auditTable.body.children.length) auditTable.body.append(stateRow(auditTable.colspan, 'loading', 'Loading the audit log…'));
    try {
      const data = await api('/api/admin/audit', { query: { ...applied(), page, per_page: PER_PAGE } });
      if (seq !== loadSeq) return;
      const filtered = Object.keys(applied()).length > 0;
      shown = data.items;
      // A document chosen from the address (or another tab) is named by the events themselves.
      const named = shown.find((ev) => ev.document_title && String(ev.document_id) === filters.document_id);
      if (named && docPicker.input.value === `Document #${filters.document_id}`) {
        docPicker.set({ value: filters.document_id, label: named.document_title });
        docChoice = { value: filters.document_id, label: named.document_title };
      }
      auditTable.body.replaceChildren(...(shown.length ? shown.map(row)
        : [stateRow(auditTable.colspan, filtered ? 'No events match these filters' : 'No events yet')]));
      status.textContent = `${plural(data.total, 'event')}${filtered ? (data.total === 1 ? ' matches' : ' match') : ' recorded'}.`;
      auditPager.update(data);
    } catch (err) {
      if (seq !== loadSeq) return;
      shown = [];
      auditTable.body.replaceChildren(stateRow(auditTable.colspan, 'The audit log could not be loaded', err.message));
      if (err instanceof ApiError && err.status === 422) showError(form, err, { from: 'from', to: 'to' });
      else reportError(err);
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    if (docPicker.input.value.trim() && !docChoice) {
      setFieldError(docPicker.input, 'Pick a document from the suggestions, or empty the field.');
      docPicker.input.focus();
      return;
    }
    if (from.control.value && to.control.value && from.control.value > to.control.value) {
      setFieldError(to.control, 'The end date is before the start date.');
      to.control.focus();
      return;
    }
    Object.assign(filters, {
      action: action.control.value, actor_id: actor.control.value, target_user_id: target.control.value,
      document_id: docChoice ? docChoice.value : '', from: from.control.value, to: to.control.value,
    });
    page = 1;
    remember();
    load();
  });
  reset.addEventListener('click', () => {
    clearErrors(form);
    Object.assign(filters, EMPTY);
    docChoice = null;
    showFilters();
    page = 1;
    remember();
    load();
  });
  onChange('users', () => fillUsers().catch(reportError));

  showFilters();
  remember();
  return {
    refresh() {
      fillUsers().catch(reportError); // in the background: the rows do not wait for the users
      return load();
    },
    /** Show the log filtered (e.g. {document_id} from the Documents tab). */
    show(newFilters) {
      Object.assign(filters, EMPTY, Object.fromEntries(
        Object.entries(newFilters).map(([k, v]) => [k, v === undefined || v === null ? '' : String(v)])));
      docChoice = null;
      showFilters();
      page = 1;
      remember();
      fillUsers().catch(reportError);
      return load();
    },
  };
}
