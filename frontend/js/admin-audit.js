// Admin: the Audit log tab. Every sign-in, change and download, newest first, filtered by
// action, by who did it and by document ("who downloaded what, when").

import { api } from './api.js';
import { h } from './elements.js';
import { plural, timeEl } from './format.js';
import { field } from './forms.js';
import { reportError } from './toasts.js';
import { pager, stateRow, table } from './tables.js';
import { fetchAll, get, onChange } from './admin-data.js';

const PER_PAGE = 50;

const ACTIONS = [
  ['document_downloaded', 'Document downloaded'],
  ['document_uploaded', 'Document uploaded'],
  ['document_updated', 'Document updated'],
  ['document_deleted', 'Document deleted'],
  ['login', 'Signed in'],
  ['login_failed', 'Failed sign-in'],
  ['logout', 'Signed out'],
  ['password_changed', 'Password changed'],
  ['password_change_failed', 'Wrong current password'],
  ['user_created', 'User created'],
  ['user_updated', 'User updated'],
  ['user_deleted', 'User deleted'],
  ['group_created', 'Group created'],
  ['group_updated', 'Group updated'],
  ['group_deleted', 'Group deleted'],
  ['category_created', 'Category created'],
  ['category_updated', 'Category updated'],
  ['category_deleted', 'Category deleted'],
];
const ACTION_LABELS = new Map(ACTIONS);

function detailText(detail) {
  if (detail === null || detail === undefined || detail === '') return '';
  if (typeof detail === 'string') return detail;
  const show = (v) => (Array.isArray(v) ? v.join(', ') : v && typeof v === 'object' ? JSON.stringify(v) : String(v));
  return Object.entries(detail).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${show(v)}`).join('; ');
}

export function mountAudit(panel) {
  const filters = { action: '', actor_id: '', document_id: '' };
  let page = 1;
  let loadSeq = 0;
  let docTitles = new Map();

  const action = field({ label: 'Action', name: 'action', type: 'select', options: [{ value: '', label: 'Any action' }, ...ACTIONS.map(([value, label]) => ({ value, label }))] });
  const actor = field({ label: 'Who', name: 'actor_id', type: 'select', options: [{ value: '', label: 'Anyone' }] });
  const documentSel = field({ label: 'Document', name: 'document_id', type: 'select', options: [{ value: '', label: 'Any document' }] });
  const reset = h('button', { type: 'button', class: 'btn btn--secondary' }, 'Reset filters');
  const form = h('form', { class: 'filter-bar', role: 'search', 'aria-label': 'Filter the audit log' },
    action.wrap, actor.wrap, documentSel.wrap,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Apply'), reset));
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const auditTable = table('Audit events, newest first', [
    { label: 'When (UTC shown in your time zone)' }, { label: 'Action' }, { label: 'Who' }, { label: 'Document' }, { label: 'From' }, { label: 'Details' },
  ]);
  const auditPager = pager('Audit log pages', (p) => {
    page = p;
    load();
  });
  panel.append(h('section', { class: 'panel', 'aria-labelledby': 'audit-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'audit-heading' }, 'Audit log')),
    form, status, auditTable.el, auditPager.el));

  async function fillChoices() {
    const [users, docs] = await Promise.all([get('users'), fetchAll('/api/admin/documents').catch(() => [])]);
    docTitles = new Map(docs.map((d) => [d.id, d.title]));
    actor.control.replaceChildren(h('option', { value: '' }, 'Anyone'),
      ...users.map((u) => h('option', { value: u.id, selected: String(u.id) === filters.actor_id }, u.username)));
    const docOptions = docs.map((d) => h('option', { value: d.id, selected: String(d.id) === filters.document_id }, d.title));
    if (filters.document_id && !docTitles.has(Number(filters.document_id))) {
      docOptions.push(h('option', { value: filters.document_id, selected: true }, `Document #${filters.document_id} (deleted)`));
    }
    documentSel.control.replaceChildren(h('option', { value: '' }, 'Any document'), ...docOptions);
  }

  function row(ev) {
    const docCell = ev.document_id
      ? (docTitles.get(ev.document_id) || `#${ev.document_id}`)
      : h('span', { class: 'muted' }, '—');
    return h('tr', {},
      h('td', { 'data-label': 'When', class: 'nowrap' }, timeEl(ev.at, true)),
      h('td', { 'data-label': 'Action' }, ACTION_LABELS.get(ev.action) || ev.action),
      h('td', { 'data-label': 'Who' }, ev.actor ? ev.actor.username : h('span', { class: 'muted' }, 'unknown')),
      h('td', { 'data-label': 'Document' }, docCell),
      h('td', { 'data-label': 'From', class: 'mono nowrap' }, ev.ip || '—'),
      h('td', { 'data-label': 'Details' }, h('span', { class: 'doc-desc' }, [
        ev.target_user_id ? `user #${ev.target_user_id}` : null,
        detailText(ev.detail),
      ].filter(Boolean).join(' · ') || '—')));
  }

  async function load() {
    const seq = ++loadSeq;
    if (!auditTable.body.children.length) auditTable.body.append(stateRow(auditTable.colspan, 'loading', 'Loading the audit log…'));
    try {
      const data = await api('/api/admin/audit', { query: { ...filters, page, per_page: PER_PAGE } });
      if (seq !== loadSeq) return;
      const filtered = Object.values(filters).some(Boolean);
      auditTable.body.replaceChildren(...(data.items.length ? data.items.map(row)
        : [stateRow(auditTable.colspan, filtered ? 'No events match these filters' : 'No events yet')]));
      status.textContent = `${plural(data.total, 'event')}${filtered ? ' match' : ' recorded'}.`;
      auditPager.update(data);
    } catch (err) {
      if (seq !== loadSeq) return;
      auditTable.body.replaceChildren(stateRow(auditTable.colspan, 'The audit log could not be loaded', err.message));
      reportError(err);
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filters.action = action.control.value;
    filters.actor_id = actor.control.value;
    filters.document_id = documentSel.control.value;
    page = 1;
    load();
  });
  reset.addEventListener('click', () => {
    form.reset();
    filters.action = '';
    filters.actor_id = '';
    filters.document_id = '';
    page = 1;
    load();
  });
  onChange('users', () => fillChoices().catch(reportError));

  return {
    async refresh() {
      await fillChoices().catch(reportError);
      await load();
    },
    /** Show the log filtered (e.g. {document_id} from the Documents tab). */
    async show(newFilters) {
      Object.assign(filters, { action: '', actor_id: '', document_id: '' }, Object.fromEntries(
        Object.entries(newFilters).map(([k, v]) => [k, v === undefined || v === null ? '' : String(v)])));
      page = 1;
      await fillChoices().catch(reportError);
      action.control.value = filters.action;
      actor.control.value = filters.actor_id;
      documentSel.control.value = filters.document_id;
      await load();
    },
  };
}
