// Client document center: the documents visible to me (GET /api/documents), by document date
// (newest first) or another order, with full-text search (a snippet per result), category and
// unread filters, "mark all as read" and pagination; view, download, change password, sign out.

import { api } from './api.js';
import { initAccount } from './account.js';
import { $, h } from './elements.js';
import { formatBytes, plural, timeEl } from './format.js';
import { reportError, toast } from './toasts.js';
import { pageCount, pager, stateRow } from './tables.js';
import { documentActions } from './downloads.js';
import { fillFirmDetails } from './firm-details.js';
import { readListState, writeListState } from './url-state.js';
import { listOrder } from './list-order.js';

const PER_PAGE = 20;
const COLUMNS = $('#doc-table thead tr').children.length;
const form = $('#filter-form');
const rows = $('#doc-rows');
const region = $('#doc-region');
const status = $('#result-status');
const categorySelect = $('#category');
const clearButton = $('#clear-filters');

const state = { q: '', category_id: '', sort: '', unread: '', page: 1 };
let me = null;
let loadSeq = 0;

const LIST_KEYS = ['q', 'category_id', 'sort', 'unread', 'page'];

const markAllButton = h('button', { type: 'button', class: 'btn btn--secondary', disabled: true }, 'Mark all as read');
const order = listOrder(state, () => {
  writeUrl();
  load();
}, { extra: [markAllButton] });
form.after(order.el);

function readUrl() {
  Object.assign(state, readListState(LIST_KEYS));
  form.elements.q.value = state.q;
  categorySelect.value = state.category_id;
  // A category no longer offered (no visible document left in it) is not kept as a filter.
  if (categorySelect.value !== state.category_id) state.category_id = '';
  order.sync();
}

function writeUrl() {
  writeListState(state);
}

// The status line above the table already gives the total, so the page line does not.
const docPager = pager('Pagination', (page) => {
  state.page = Math.max(1, page);
  writeUrl();
  load();
}, { withTotal: false });
region.after(docPager.el);

function filtersActive() {
  return Boolean(state.q || state.category_id || state.unread);
}

function renderRow(doc) {
  const newBadge = doc.is_new ? h('span', { class: 'badge badge--new' }, 'New') : null;
  const row = h('tr', { 'data-id': doc.id },
    h('td', { 'data-label': 'Document' },
      h('div', { class: 'doc-title' }, doc.title, ' ', newBadge),
      // Plain text from the API: textContent, never markup.
      doc.snippet ? h('p', { class: 'doc-snippet', text: doc.snippet }) : null,
      doc.description ? h('p', { class: 'doc-desc' }, doc.description) : null,
      doc.kind === 'link' ? h('p', { class: 'doc-meta' }, h('span', { class: 'badge badge--muted' }, 'External link')) : null),
    h('td', { 'data-label': 'Category' }, doc.category ? doc.category.name : h('span', { class: 'muted' }, 'Uncategorised')),
    h('td', { 'data-label': 'Date', class: 'nowrap' }, timeEl(doc.document_date)),
    h('td', { 'data-label': 'Size', class: 'num' }, doc.kind === 'link' ? h('span', { class: 'muted' }, '—') : formatBytes(doc.size_bytes)),
    h('td', { class: 'actions' }, h('div', { class: 'btn-row' }, documentActions(doc, {
      onDownloaded: () => {
        doc.is_new = false;
        newBadge?.remove();
        refreshUnread();
      },
    }))));
  return row;
}

async function load() {
  const seq = ++loadSeq;
  region.setAttribute('aria-busy', 'true');
  status.textContent = 'Loading…';
  try {
    const data = await api('/api/documents', {
      query: {
        q: state.q, category_id: state.category_id, sort: state.sort, unread: state.unread, page: state.page, per_page: PER_PAGE,
      },
    });
    refreshUnread();
    if (seq !== loadSeq) return;
    const pages = pageCount(data);
    if (data.items.length === 0 && data.total > 0 && state.page > 1) {
      state.page = pages;
      writeUrl();
      load();
      return;
    }
    rows.replaceChildren();
    if (data.items.length === 0) {
      if (filtersActive()) {
        rows.append(stateRow(COLUMNS, state.q || state.category_id ? 'No documents match your search' : 'Nothing unread',
          state.q || state.category_id ? 'Try other words or another category.' : 'You have opened every document shared with you.',
          h('button', { type: 'button', class: 'btn btn--secondary', onclick: clearFilters }, 'Clear search')));
      } else {
        rows.append(me && me.is_admin
          ? stateRow(COLUMNS, 'No documents yet', 'Upload PDFs and choose who sees them in the admin console.',
            h('a', { class: 'btn', href: '/frontend/admin.html' }, 'Open the admin console'))
          : stateRow(COLUMNS, 'No documents yet', 'When we share a report or statement with you, it will appear here.'));
      }
    } else {
      rows.append(...data.items.map(renderRow));
    }
    const first = (data.page - 1) * data.per_page + 1;
    const last = first + data.items.length - 1;
    status.textContent = data.total === 0 ? 'No documents.'
      : `Showing ${first}–${last} of ${plural(data.total, 'document')}${filtersActive() ? ' matching your search' : ''}.`;
    docPager.update(data);
    clearButton.hidden = !filtersActive();
  } catch (err) {
    if (seq !== loadSeq) return;
    rows.replaceChildren(stateRow(COLUMNS, 'Your documents could not be loaded', err.message,
      h('button', { type: 'button', class: 'btn btn--secondary', onclick: load }, 'Try again')));
    status.textContent = '';
    reportError(err);
  } finally {
    if (seq === loadSeq) region.setAttribute('aria-busy', 'false');
  }
}

/** "Mark all as read" is only offered while something is new (anywhere in the list, not only this page). */
async function refreshUnread() {
  try {
    const unread = await api('/api/documents', { query: { unread: 'true', per_page: 1 } });
    markAllButton.disabled = unread.total === 0;
  } catch (err) {
    reportError(err);
  }
}

markAllButton.addEventListener('click', async () => {
  markAllButton.disabled = true;
  try {
    await api('/api/documents/read-all', { method: 'POST' });
    toast('Every document is marked as read.');
    load();
  } catch (err) {
    markAllButton.disabled = false;
    reportError(err);
  }
});

function clearFilters() {
  state.q = '';
  state.category_id = '';
  state.unread = '';
  state.page = 1;
  form.elements.q.value = '';
  categorySelect.value = '';
  order.sync();
  writeUrl();
  load();
  form.elements.q.focus();
}

async function loadCategories() {
  try {
    // Only the categories that hold a document this person can see: an empty choice helps nobody.
    const categories = await api('/api/categories', { query: { in_use: 'true' } });
    categorySelect.append(...categories.map((c) => h('option', { value: c.id }, c.name)));
  } catch (err) {
    reportError(err);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  state.q = form.elements.q.value.trim();
  state.category_id = categorySelect.value;
  state.page = 1;
  order.sync();
  writeUrl();
  load();
});
categorySelect.addEventListener('change', () => form.requestSubmit());
clearButton.addEventListener('click', clearFilters);

async function main() {
  fillFirmDetails();
  try {
    me = await initAccount();
  } catch (err) {
    region.setAttribute('aria-busy', 'false');
    rows.replaceChildren(stateRow(COLUMNS, 'Your documents could not be loaded', err.message,
      h('button', { type: 'button', class: 'btn btn--secondary', onclick: () => location.reload() }, 'Try again')));
    reportError(err);
    return;
  }
  await loadCategories();
  readUrl();
  load();
}

main();
