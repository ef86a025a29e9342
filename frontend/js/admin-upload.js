// Upload one or many PDFs: file picker or drag-and-drop, a title and description per file,
// a category, document date and visibility for the batch that each file may override, a
// real progress bar per file (XMLHttpRequest upload progress) and a clear result per file.
// Leaving the page while files are on their way asks first. A file identical to an existing
// document is refused (409) until the admin says to upload it anyway.

import { ApiError, SessionEndedError, api, uploadForm } from './api.js';
import { h, srOnly, uniqueId } from './elements.js';
import { formatBytes, plural } from './format.js';
import { checkbox, field, fieldErrors } from './forms.js';
import { get, session } from './admin-data.js';
import { visibilityPicker } from './visibility.js';
import { reportError } from './toasts.js';

function titleFromName(name) {
  return name.replace(/\.pdf$/i, '').replace(/[_]+/g, ' ').replace(/\s+/g, ' ').trim() || name;
}

function looksLikePdf(file) {
  return file.type === 'application/pdf' || /\.pdf$/i.test(file.name);
}

/** The id of the document a 409 says these bytes already are, or null for any other error. */
export function duplicateOf(err) {
  const id = err instanceof ApiError && err.status === 409 && err.body ? err.body.duplicate_of : null;
  return Number.isInteger(id) ? id : null;
}

/** "This file is already document N (“title”). Upload it anyway?" (the title when it can be read). */
export async function duplicateQuestion(id) {
  let named = `document ${id}`;
  try {
    const existing = await api(`/api/admin/documents/${encodeURIComponent(id)}`);
    named = `document ${id} (“${existing.title}”)`;
  } catch (err) {
    if (err instanceof SessionEndedError) throw err;
  }
  return `This file is already ${named}. Upload it anyway?`;
}

/** Mount the upload form into container; onUploaded() is called after each success. */
export function mountUpload(container, { onUploaded }) {
  const inputId = uniqueId('files');
  const fileInput = h('input', { type: 'file', id: inputId, name: 'files', accept: 'application/pdf,.pdf', multiple: true });
  const dropzone = h('div', { class: 'dropzone' },
    h('strong', {}, 'Drop PDF files here'),
    h('span', {}, 'or'),
    h('label', { for: inputId, class: 'visually-hidden' }, 'Choose PDF files to upload'),
    fileInput,
    h('span', { class: 'hint' }, 'You can choose several files at once. PDF only.'));
  const list = h('ul', { class: 'upload-list', 'aria-label': 'Files to upload' });
  const categorySlot = h('div', {});
  const batchDate = field({ label: 'Document date', name: 'document_date', type: 'date', hint: 'The date the documents are about. Empty: the upload date.' });
  const visibilitySlot = h('div', {});
  const summary = h('p', { role: 'status', 'aria-live': 'polite', class: 'muted' });
  const submit = h('button', { type: 'submit', class: 'btn', disabled: true }, 'Upload');
  const clear = h('button', { type: 'button', class: 'btn btn--secondary', hidden: true }, 'Clear list');
  const watermark = checkbox({ label: 'Watermark each download with the client’s name, e-mail and the time', name: 'watermark' });
  const settings = h('div', { class: 'upload-settings', hidden: true },
    h('h3', {}, 'For all files in this batch'),
    h('div', { class: 'form-grid' }, categorySlot, batchDate.wrap),
    watermark.wrap,
    visibilitySlot);
  const form = h('form', { novalidate: true, 'aria-labelledby': 'upload-heading' },
    dropzone, list, settings,
    h('div', { class: 'form-actions' }, submit, clear),
    summary);
  container.append(form);

  let picker = null;
  let categorySelect = null;
  const items = [];
  let busy = false;

  // The browser asks "Leave site?" while files are on their way (the text is the browser's own).
  const holdPage = (event) => {
    event.preventDefault();
    event.returnValue = '';
  };

  const loadChoices = () => Promise.all([get('categories'), get('groups'), get('users')])
    .then(([categories, groups, users]) => ({ categories, groups, users }));

  /** A file's own category, date and visibility; each empty choice means "as the batch". */
  function renderItemChoices(item, { categories, groups, users }) {
    const keep = item.choices ? item.choices.values() : { category: '', date: '', own: false, visibility: null };
    const category = field({
      label: 'Category', name: 'category_id', type: 'select', value: keep.category,
      options: [{ value: '', label: 'As the batch' }, { value: 'none', label: 'No category' },
        ...categories.map((c) => ({ value: c.id, label: c.name }))],
    });
    const date = field({ label: 'Document date', name: 'document_date', type: 'date', value: keep.date, hint: 'Empty: as the batch.' });
    const own = checkbox({ label: 'Its own visibility, not the batch’s', name: 'own_visibility', checked: keep.own });
    const filePicker = visibilityPicker({ groups, users, value: keep.visibility, legend: `Who can see ${item.file.name}` });
    filePicker.el.hidden = !keep.own;
    own.control.addEventListener('change', () => {
      filePicker.el.hidden = !own.control.checked;
    });
    const controls = [category.control, date.control, own.control];
    item.choices = {
      controls,
      values: () => ({
        category: category.control.value,
        date: date.control.value,
        own: own.control.checked,
        visibility: filePicker.value(),
      }),
      setDisabled: (off) => {
        for (const c of controls) c.disabled = off;
        filePicker.el.disabled = off;
      },
    };
    item.choicesSlot.replaceChildren(h('div', { class: 'form-grid' }, category.wrap, date.wrap), own.wrap, filePicker.el);
    if (item.state !== 'ready' && item.state !== 'failed') item.choices.setDisabled(true);
  }

  async function renderSettings() {
    const choices = await loadChoices();
    const { categories, groups, users } = choices;
    for (const item of items) renderItemChoices(item, choices);
    const keepCat = categorySelect ? categorySelect.value : '';
    const keepVis = picker ? picker.value() : null;
    const cat = field({
      label: 'Category', name: 'category_id', type: 'select', value: keepCat,
      options: [{ value: '', label: 'No category' }, ...categories.map((c) => ({ value: c.id, label: c.name }))],
    });
    categorySelect = cat.control;
    categorySlot.replaceChildren(cat.wrap);
    picker = visibilityPicker({ groups, users, value: keepVis });
    visibilitySlot.replaceChildren(picker.el);
  }

  function pending() {
    return items.filter((it) => it.state === 'ready' || it.state === 'failed');
  }

  function refreshButtons() {
    const n = pending().length;
    submit.disabled = busy || n === 0;
    submit.textContent = n > 1 ? `Upload ${n} files` : 'Upload';
    clear.hidden = items.length === 0 || busy;
    settings.hidden = items.length === 0;
  }

  function addFiles(files) {
    for (const file of files) {
      const id = uniqueId('upload');
      const title = field({ label: 'Title', name: 'title', value: titleFromName(file.name), required: true, attrs: { 'data-field': 'title', maxlength: 200 } });
      const description = field({ label: 'Description (optional)', name: 'description', type: 'textarea', attrs: { 'data-field': 'description', rows: 2 } });
      const progress = h('progress', { max: 100, value: 0, 'aria-label': `Upload progress for ${file.name}` });
      const percent = h('span', { class: 'progress-label', 'aria-hidden': 'true' }, '0%');
      const result = h('p', { class: 'upload-result', 'data-role': 'result' });
      const progressRow = h('div', { class: 'progress-row' }, progress, percent);
      const choicesSlot = h('div', { class: 'upload-item__choices' });
      const remove = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Remove', srOnly(` ${file.name}`));
      const li = h('li', { class: 'upload-item', id, 'data-filename': file.name },
        h('div', { class: 'upload-item__head' },
          h('span', { class: 'upload-item__name' }, file.name, ' ', h('span', { class: 'upload-item__size' }, `(${formatBytes(file.size)})`)),
          remove),
        h('div', { class: 'form-grid' }, title.wrap, description.wrap),
        choicesSlot,
        progressRow,
        result);
      const item = {
        file, li, title: title.control, description: description.control, progress, percent, progressRow, result, remove,
        choicesSlot, choices: null, state: 'ready',
      };
      if (!looksLikePdf(file)) {
        item.state = 'rejected';
        li.classList.add('is-error');
        result.className = 'upload-result upload-result--error';
        result.textContent = 'Not a PDF: only PDF files can be uploaded. This file will be skipped.';
        title.control.disabled = true;
        description.control.disabled = true;
        progressRow.hidden = true;
      }
      remove.addEventListener('click', () => {
        items.splice(items.indexOf(item), 1);
        li.remove();
        refreshButtons();
        fileInput.focus();
      });
      items.push(item);
      list.append(li);
      if (picker) loadChoices().then((choices) => renderItemChoices(item, choices)).catch(() => {});
    }
    refreshButtons();
    if (!picker) renderSettings().catch(() => {});
  }

  function setProgress(item, fraction) {
    const pct = Math.round(fraction * 100);
    item.progress.value = pct;
    item.percent.textContent = `${pct}%`;
  }

  /** A duplicate: its question, and a button that sends this file again, allowing the duplicate. */
  async function showDuplicate(item, existing) {
    const question = await duplicateQuestion(existing);
    const again = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Upload anyway', srOnly(` ${item.file.name}`));
    again.addEventListener('click', () => {
      if (busy) return;
      item.allowDuplicate = true;
      send([item], item.shared).catch(reportError);
    });
    item.result.replaceChildren(`Not uploaded. ${question} `, again);
  }

  function showItemError(item, err) {
    item.state = 'failed';
    item.li.classList.add('is-error');
    // A refused file shows its error, not a full (green) bar for the bytes that were sent.
    item.progressRow.hidden = true;
    setProgress(item, 0);
    const perField = fieldErrors(err);
    const details = [];
    for (const [name, messages] of Object.entries(perField)) {
      const control = name === 'title' ? item.title : name === 'description' ? item.description : null;
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', item.result.id);
      }
      details.push(`${name === 'file' ? 'File' : name.replace(/_/g, ' ')}: ${messages.join(' ')}`);
    }
    item.result.className = 'upload-result upload-result--error';
    item.result.textContent = `Not uploaded. ${err.message}${details.length ? ` (${details.join('; ')})` : ''}`;
  }

  async function uploadOne(item, shared) {
    item.state = 'uploading';
    item.li.classList.remove('is-error', 'is-done');
    item.title.removeAttribute('aria-invalid');
    item.remove.hidden = true;
    item.title.disabled = true;
    item.description.disabled = true;
    item.choices?.setDisabled(true);
    item.progressRow.hidden = false;
    setProgress(item, 0);
    item.result.id = item.result.id || uniqueId('result');
    item.result.className = 'upload-result';
    item.result.textContent = 'Uploading…';
    const data = new FormData();
    data.append('file', item.file, item.file.name);
    data.append('title', item.title.value.trim());
    if (item.description.value.trim()) data.append('description', item.description.value.trim());
    const own = item.choices ? item.choices.values() : { category: '', date: '', own: false };
    const category = own.category === '' ? shared.category_id : own.category;
    if (category && category !== 'none') data.append('category_id', category);
    const date = own.date || shared.document_date;
    if (date) data.append('document_date', date);
    data.append('visibility', JSON.stringify(own.own ? own.visibility : shared.visibility));
    if (shared.watermark) data.append('watermark', 'true');
    if (item.allowDuplicate) data.append('allow_duplicate', 'true');
    item.shared = shared;
    try {
      const doc = await uploadForm('/api/admin/documents/upload', data, {
        onProgress: (loaded, total) => {
          setProgress(item, total ? loaded / total : 0);
          if (loaded >= total) item.result.textContent = 'Checking and storing the file…';
        },
      });
      setProgress(item, 1);
      item.state = 'done';
      item.li.classList.add('is-done');
      item.result.className = 'upload-result upload-result--ok';
      const waiting = session.s3InUse && doc && doc.storage && doc.storage.s3 === false;
      item.result.textContent = waiting
        ? `Uploaded as “${doc.title}”. Stored locally, waiting for S3: it will be pushed automatically.`
        : `Uploaded as “${doc ? doc.title : item.title.value}”.`;
      if (onUploaded) onUploaded(doc);
      return true;
    } catch (err) {
      if (err instanceof SessionEndedError) throw err;
      item.title.disabled = false;
      item.description.disabled = false;
      item.choices?.setDisabled(false);
      item.remove.hidden = false;
      showItemError(item, err instanceof ApiError ? err : new ApiError(0, null));
      const existing = duplicateOf(err);
      if (existing !== null) await showDuplicate(item, existing);
      return false;
    }
  }

  /** Upload the queue one file at a time with the batch's choices; the summary says how it went. */
  async function send(queue, shared) {
    busy = true;
    refreshButtons();
    form.setAttribute('aria-busy', 'true');
    window.addEventListener('beforeunload', holdPage);
    let ok = 0;
    summary.textContent = `Uploading ${plural(queue.length, 'file')}…`;
    try {
      for (const item of queue) {
        if (await uploadOne(item, shared)) ok += 1;
      }
    } catch (err) {
      if (err instanceof SessionEndedError) return;
      throw err;
    } finally {
      busy = false;
      window.removeEventListener('beforeunload', holdPage);
      form.removeAttribute('aria-busy');
      refreshButtons();
    }
    const failed = queue.length - ok;
    summary.textContent = failed
      ? `${ok} of ${queue.length} files uploaded; ${failed} failed — see the messages above.`
      : `${plural(ok, 'file')} uploaded.`;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const queue = pending();
    if (!queue.length || busy) return;
    for (const item of queue) {
      if (!item.title.value.trim()) {
        showItemError(item, new ApiError(422, { message: 'A title is required.', errors: { form: { title: ['Enter a title.'] } } }));
        item.title.focus();
        return;
      }
    }
    send(queue, {
      document_date: batchDate.control.value,
      category_id: categorySelect ? categorySelect.value : '',
      visibility: picker ? picker.value() : { everyone: false, group_ids: [], user_ids: [] },
      watermark: watermark.control.checked,
    }).catch(reportError);
  });

  clear.addEventListener('click', () => {
    items.splice(0, items.length);
    list.replaceChildren();
    summary.textContent = '';
    fileInput.value = '';
    refreshButtons();
    fileInput.focus();
  });

  fileInput.addEventListener('change', () => {
    addFiles(Array.from(fileInput.files || []));
    fileInput.value = '';
  });

  for (const type of ['dragenter', 'dragover']) {
    dropzone.addEventListener(type, (e) => {
      if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      dropzone.classList.add('is-dragover');
    });
  }
  for (const type of ['dragleave', 'dragend']) {
    dropzone.addEventListener(type, (e) => {
      if (type === 'dragleave' && dropzone.contains(e.relatedTarget)) return;
      dropzone.classList.remove('is-dragover');
    });
  }
  dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropzone.classList.remove('is-dragover');
    addFiles(Array.from((e.dataTransfer && e.dataTransfer.files) || []));
  });
  // A file dropped next to the zone must not make the browser navigate away to it
  // (text dragged into a field still works: only file drags are stopped).
  const isFileDrag = (e) => Boolean(e.dataTransfer) && Array.from(e.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragover', (e) => { if (isFileDrag(e)) e.preventDefault(); });
  window.addEventListener('drop', (e) => { if (isFileDrag(e)) e.preventDefault(); });

  return {
    refreshChoices: () => (picker ? renderSettings().catch(() => {}) : null),
    hasPending: () => items.some((it) => it.state === 'uploading'),
  };
}

