// Admin: the Documents tab. Upload PDFs, add links, and manage every document (edit title,
// description, category, visibility, document date, download name; new versions of a file;
// delete after confirmation), with a mark on files that are still waiting for S3.

import { api } from './api.js';
import { h, srOnly } from './elements.js';
import { formatBytes, plural, timeEl } from './format.js';
import { checkbox, field } from './forms.js';
import { readersSummary, showReaders } from './admin-readers.js';
import { reportError, toast } from './toasts.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { pager, stateRow, table } from './tables.js';
import { get, onChange, session } from './admin-data.js';
import { describeVisibility, visibilityPicker } from './visibility.js';
import { mountUpload } from './admin-upload.js';
import { defaultDownloadName, viewLink } from './downloads.js';
import { readListState, writeListState } from './url-state.js';
import { listOrder } from './list-order.js';
import { newVersion, showVersions } from './admin-versions.js';

const PER_PAGE = 25;

export function mountDocuments(panel, { showAudit }) {
  // The list's place lives in the address (?q=&category_id=&sort=&unread=&page=#documents): a reload keeps it.
  const state = readListState(['q', 'category_id', 'sort', 'unread', 'page']);
  let loadSeq = 0;

  /* ----- Upload ----- */
  const uploadSection = h('section', { class: 'panel', 'aria-labelledby': 'upload-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'upload-heading' }, 'Upload PDFs')));
  const upload = mountUpload(uploadSection, { onUploaded: () => load() });

  /* ----- Add a link ----- */
  const linkButton = h('button', { type: 'button', class: 'btn btn--secondary' }, 'Add a link', srOnly(' to an external document'));
  linkButton.addEventListener('click', () => addLink());

  /* ----- List ----- */
  const search = field({ label: 'Search', name: 'q', type: 'search', value: state.q, attrs: { placeholder: 'Title or description', autocomplete: 'off' } });
  const categoryFilter = field({ label: 'Category', name: 'category_id', type: 'select', options: [{ value: '', label: 'All categories' }] });
  const filterForm = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Search all documents' },
    search.wrap, categoryFilter.wrap, h('div', { class: 'btn-row' }, h('button', { type: 'submit', class: 'btn' }, 'Search')));
  const order = listOrder(state, () => {
    writeListState(state);
    load();
  });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const docTable = table('All documents', [
    { label: 'Document' }, { label: 'Category' }, { label: 'Visible to' }, { label: 'Document date' }, { label: 'Actions', srOnly: true, class: 'actions' },
  ]);
  const docPager = pager('Documents pages', (page) => {
    state.page = page;
    writeListState(state);
    load();
  });
  const listSection = h('section', { class: 'panel', 'aria-labelledby': 'docs-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'docs-heading' }, 'All documents'), linkButton),
    filterForm, order.el, status, docTable.el, docPager.el);

  panel.append(uploadSection, listSection);

  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    state.q = search.control.value.trim();
    state.category_id = categoryFilter.control.value;
    state.page = 1;
    order.sync();
    writeListState(state);
    load();
  });
  categoryFilter.control.addEventListener('change', () => filterForm.requestSubmit());

  async function fillCategoryFilter() {
    const categories = await get('categories');
    const keep = categoryFilter.control.value || state.category_id;
    categoryFilter.control.replaceChildren(h('option', { value: '' }, 'All categories'),
      ...categories.map((c) => h('option', { value: c.id, selected: String(c.id) === keep }, c.name)));
  }

  function storageBadges(doc) {
    const badges = [];
    if (doc.kind === 'link') badges.push(h('span', { class: 'badge badge--muted' }, 'Link'));
    if (doc.kind !== 'link' && session.s3InUse && doc.storage && doc.storage.s3 === false) {
      badges.push(h('span', { class: 'badge badge--warn', title: 'Stored on this server only; it will be pushed to S3 automatically.' }, 'Waiting for S3'));
    }
    return badges;
  }

  function row(doc, groups, users) {
    const meta = doc.kind === 'link'
      ? [h('span', { class: 'mono' }, doc.external_url)]
      : [h('span', {}, doc.filename || ''), h('span', {}, `· ${formatBytes(doc.size_bytes)}`),
        doc.version > 1 ? h('span', { class: 'badge badge--muted' }, `Version ${doc.version}`) : null];
    const edit = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Edit', srOnly(` ${doc.title}`));
    const history = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'History', srOnly(` ${doc.title}`));
    const readersButton = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Readers', srOnly(` of ${doc.title}`));
    readersButton.addEventListener('click', () => showReaders(doc).then(() => load()).catch(reportError));
    const del = h('button', { type: 'button', class: 'btn btn--danger-outline btn--small' }, 'Delete', srOnly(` ${doc.title}`));
    const open = viewLink(doc, 'btn btn--ghost btn--small');
    edit.addEventListener('click', () => editDocument(doc));
    const fileActions = [];
    if (doc.kind === 'file') {
      const replace = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'New version', srOnly(` of ${doc.title}`));
      const versions = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Versions', srOnly(` of ${doc.title}`));
      replace.addEventListener('click', () => replaceFile(doc));
      versions.addEventListener('click', () => showVersions(doc).catch(reportError));
      fileActions.push(replace, versions);
    }
    history.addEventListener('click', () => showAudit({ document_id: doc.id }));
    del.addEventListener('click', () => deleteDocument(doc));
    return h('tr', { 'data-id': doc.id },
      h('td', { 'data-label': 'Document' },
        h('div', { class: 'doc-title' }, doc.title),
        h('p', { class: 'doc-meta' }, ...storageBadges(doc), ...meta),
        doc.description ? h('p', { class: 'doc-desc' }, doc.description) : null),
      h('td', { 'data-label': 'Category' }, doc.category ? doc.category.name : h('span', { class: 'muted' }, 'None')),
      h('td', { 'data-label': 'Visible to' }, describeVisibility(doc.visibility, groups, users),
        doc.readers ? h('div', { class: 'muted readers-count' }, readersSummary(doc.readers)) : null),
      h('td', { 'data-label': 'Document date', class: 'nowrap' }, timeEl(doc.document_date),
        h('div', { class: 'muted' }, 'Added ', timeEl(doc.created_at), doc.uploaded_by ? ` by ${doc.uploaded_by.username}` : '')),
      h('td', { class: 'actions' }, h('div', { class: 'btn-row btn-row--wrap' }, open, edit, ...fileActions, readersButton, history, del)));
  }

  async function load() {
    const seq = ++loadSeq;
    docTable.body.closest('table').setAttribute('aria-busy', 'true');
    if (!docTable.body.children.length) docTable.body.append(stateRow(docTable.colspan, 'loading', 'Loading documents…'));
    try {
      const [data, groups, users] = await Promise.all([
        api('/api/admin/documents', {
          query: { q: state.q, category_id: state.category_id, sort: state.sort, unread: state.unread, page: state.page, per_page: PER_PAGE },
        }),
        get('groups'), get('users'),
      ]);
      if (seq !== loadSeq) return;
      if (!data.items.length && data.total > 0 && state.page > 1) {
        state.page = Math.ceil(data.total / data.per_page);
        writeListState(state);
        load();
        return;
      }
      const filtered = Boolean(state.q || state.category_id || state.unread);
      docTable.body.replaceChildren(...(data.items.length ? data.items.map((d) => row(d, groups, users))
        : [stateRow(docTable.colspan, filtered ? 'No documents match' : 'No documents yet',
          filtered ? 'Try other words, another category, or all documents.' : 'Upload a PDF above to publish your first document.')]));
      status.textContent = `${plural(data.total, 'document')}${filtered ? ' match' : ' in all'}.`;
      docPager.update(data);
    } catch (err) {
      if (seq !== loadSeq) return;
      docTable.body.replaceChildren(stateRow(docTable.colspan, 'Documents could not be loaded', err.message));
      reportError(err);
    } finally {
      if (seq === loadSeq) docTable.body.closest('table').setAttribute('aria-busy', 'false');
    }
  }

  async function documentFields(body, doc) {
    const [categories, groups, users] = await Promise.all([get('categories'), get('groups'), get('users')]);
    const title = field({ label: 'Title', name: 'title', value: doc?.title || '', required: true, attrs: { maxlength: 200 } });
    const url = doc && doc.kind !== 'link' ? null
      : field({ label: 'Link address', name: 'external_url', type: 'url', value: doc?.external_url || '', required: true, hint: 'Starts with https:// (or http://).' });
    const description = field({ label: 'Description (optional)', name: 'description', type: 'textarea', value: doc?.description || '' });
    const category = field({
      label: 'Category', name: 'category_id', type: 'select', value: doc?.category ? doc.category.id : '',
      options: [{ value: '', label: 'No category' }, ...categories.map((c) => ({ value: c.id, label: c.name }))],
    });
    const picker = visibilityPicker({ groups, users, value: doc?.visibility });
    const date = field({
      label: 'Document date', name: 'document_date', type: 'date', value: doc?.document_date || '',
      hint: doc ? 'The date the document is about.' : 'The date the document is about. Empty: today.',
    });
    // Empty means the default name, derived from the title (shown as the placeholder as it is typed).
    const derived = () => defaultDownloadName(title.control.value.trim() || doc?.title);
    const name = doc && doc.kind === 'file'
      ? field({
        label: 'Download name (optional)', name: 'download_name',
        value: doc.download_name === defaultDownloadName(doc.title) ? '' : doc.download_name,
        hint: `The file name a download gets. Empty: from the title. Uploaded as ${doc.filename}.`,
        attrs: { maxlength: 200, placeholder: derived(), autocomplete: 'off' },
      })
      : null;
    if (name) title.control.addEventListener('input', () => { name.control.placeholder = derived(); });
    const mark = doc && doc.kind === 'file'
      ? checkbox({ label: 'Watermark each download with the client’s name, e-mail and the time', name: 'watermark', checked: !!doc.watermark })
      : null;
    body.append(...[title.wrap, url && url.wrap, description.wrap, category.wrap, date.wrap, name && name.wrap, mark && mark.wrap, picker.el]
      .filter(Boolean));
    title.control.focus();
    return (form) => {
      const payload = {
        title: form.elements.title.value.trim(),
        description: form.elements.description.value.trim(),
        category_id: form.elements.category_id.value ? Number(form.elements.category_id.value) : null,
        visibility: picker.value(),
      };
      if (url) payload.external_url = form.elements.external_url.value.trim();
      if (mark) payload.watermark = mark.control.checked;
      if (date.control.value) payload.document_date = date.control.value;
      if (name) payload.download_name = name.control.value.trim() || null;
      return payload;
    };
  }

  async function editDocument(doc) {
    let collect = null;
    const saved = await formDialog({
      title: `Edit “${doc.title}”`,
      submitLabel: 'Save changes',
      build: (body) => {
        documentFields(body, doc).then((fn) => { collect = fn; }).catch(reportError);
      },
      onSubmit: async (form) => {
        if (!collect) return null;
        return api(`/api/admin/documents/${doc.id}`, { method: 'PATCH', json: collect(form) });
      },
    });
    if (saved) {
      toast(`Saved “${saved.title || doc.title}”.`);
      load();
    }
  }

  async function addLink() {
    let collect = null;
    const created = await formDialog({
      title: 'Add a link',
      description: 'Share a document that lives elsewhere (a fund administrator’s portal, a regulator’s filing…).',
      submitLabel: 'Add link',
      build: (body) => {
        documentFields(body, null).then((fn) => { collect = fn; }).catch(reportError);
      },
      onSubmit: async (form) => {
        if (!collect) return null;
        const payload = collect(form);
        if (!payload.description) delete payload.description;
        if (payload.category_id === null) delete payload.category_id;
        return api('/api/admin/documents/link', { method: 'POST', json: payload });
      },
    });
    if (created) {
      toast(`Added “${created.title}”.`);
      load();
    }
  }

  async function replaceFile(doc) {
    const updated = await newVersion(doc);
    if (updated) {
      toast(`“${updated.title}” is now at version ${updated.version}.`);
      load();
    }
  }

  async function deleteDocument(doc) {
    const done = await confirmDialog({
      title: 'Delete this document?',
      message: `“${doc.title}” will be removed for everyone, and its file deleted from every store. This cannot be undone.`,
      confirmLabel: 'Delete document',
      action: () => api(`/api/admin/documents/${doc.id}`, { method: 'DELETE' }),
    });
    if (done) {
      toast(`Deleted “${doc.title}”.`);
      load();
    }
  }

  onChange('categories', () => {
    fillCategoryFilter().catch(reportError);
    upload.refreshChoices();
    load();
  });
  onChange('groups', () => {
    upload.refreshChoices();
    load();
  });
  onChange('users', () => upload.refreshChoices());

  fillCategoryFilter().catch(reportError);
  return { refresh: load };
}
