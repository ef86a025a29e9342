// Client document center: the documents visible to me (GET /api/documents), newest first,
// with search, category filter and pagination; view, download, change password, sign out.

import { api } from './api.js';
import { initAccount } from './account.js';
import { $, h } from './elements.js';
import { formatBytes, plural, timeEl } from './format.js';
import { reportError } from './toasts.js';
import { pageCount, pager, stateRow } from './tables.js';
import { documentActions } from './downloads.js';
import { fillFirmDetails } from './firm-details.js';
import { readListState, writeListState } from './url-state.js';

const PER_PAGE = 20;
const COLUMNS = $('#doc-table thead tr').children.length;
const form = $('#filter-form');
const rows = $('#doc-rows');
const region = $('#doc-region');
const status = $('#result-status');
const categorySelect = $('#category');
const clearButton = $('#clear-filters');

const state = { q: '', category_id: '', page: 1 };
let me = null;
let loadSeq = 0;

const LIST_KEYS = ['q', 'category_id', 'page'];

function readUrl() {
  Object.assign(state, readListState(LIST_KEYS));
  form.elements.q.value = state.q;
  categorySelect.value = state.category_id;
  // A category no longer offered (no visible document left in it) is not kept as a filter.
  if (categorySelect.value !== state.category_id) state.category_id = '';
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
  return Boolean(state.q || state.category_id);
}

function renderRow(doc) {
  const newBadge = doc.is_new ? h('span', { class: 'badge badge--new' }, 'New') : null;
  const row = h('tr', { 'data-id': doc.id },
    h('td', { 'data-label': 'Document' },
      h('div', { class: 'doc-title' }, doc.title, ' ', newBadge),
      doc.description ? h('p', { class: 'doc-desc' }, doc.description) : null,
      doc.kind === 'link' ? h('p', { class: 'doc-meta' }, h('span', { class: 'badge badge--muted' }, 'External link')) : null),
    h('td', { 'data-label': 'Category' }, doc.category ? doc.category.name : h('span', { class: 'muted' }, 'Uncategorised')),
    h('td', { 'data-label': 'Date', class: 'nowrap' }, timeEl(doc.created_at)),
    h('td', { 'data-label': 'Size', class: 'num' }, doc.kind === 'link' ? h('span', { class: 'muted' }, '—') : formatBytes(doc.size_bytes)),
    h('td', { class: 'actions' }, h('div', { class: 'btn-row' }, documentActions(doc, {
      onDownloaded: () => {
        doc.is_new = false;
        newBadge?.remove();
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
      query: { q: state.q, category_id: state.category_id, page: state.page, per_page: PER_PAGE },
    });
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
        rows.append(stateRow(COLUMNS, 'No documents match your search', 'Try other words or another category.',
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

function clearFilters() {
  state.q = '';
  state.category_id = '';
  state.page = 1;
  form.elements.q.value = '';
  categorySelect.value = '';
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
