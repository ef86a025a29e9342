// Admin: a document's file versions. "New version" replaces the file (same document, same id,
// readers and history kept; new again for its audience); "Versions" lists every file it has
// had, each downloadable as it was stored.

import { ApiError, api, uploadForm } from './api.js';
import { h, srOnly } from './elements.js';
import { formatBytes, timeEl } from './format.js';
import { field, setFormMessage } from './forms.js';
import { formDialog, viewDialog } from './dialogs.js';
import { download } from './downloads.js';
import { table } from './tables.js';
import { duplicateOf, duplicateQuestion } from './admin-upload.js';

const base = (doc) => `/api/admin/documents/${encodeURIComponent(doc.id)}`;

/** Ask for a PDF and send it as the document's new file. Resolves to the updated document, or null. */
export function newVersion(doc) {
  let allowDuplicate = false;
  let submitButton = null;
  let progress = null;
  return formDialog({
    title: `New version of “${doc.title}”`,
    description: 'Clients get this file from now on, and the document is new again for them. Earlier versions stay available here.',
    submitLabel: 'Upload new version',
    build: (body, form) => {
      const file = field({ label: 'PDF file', name: 'file', type: 'file', required: true, attrs: { accept: 'application/pdf,.pdf' } });
      progress = h('progress', { max: 100, value: 0, 'aria-label': 'Upload progress', hidden: true });
      body.append(file.wrap, progress);
      submitButton = form.querySelector('button[type="submit"]');
      // A different file is a new question: it may not be a duplicate.
      file.control.addEventListener('change', () => {
        allowDuplicate = false;
        submitButton.textContent = 'Upload new version';
        setFormMessage(form, '');
      });
    },
    onSubmit: async (form) => {
      const chosen = form.elements.file.files[0];
      if (!chosen) throw new ApiError(422, { message: 'Choose a PDF file.', errors: { files: { file: ['Choose a PDF file.'] } } });
      const data = new FormData();
      data.append('file', chosen, chosen.name);
      if (allowDuplicate) data.append('allow_duplicate', 'true');
      progress.hidden = false;
      progress.value = 0;
      try {
        return await uploadForm(`${base(doc)}/file`, data, {
          onProgress: (loaded, total) => { progress.value = total ? Math.round((loaded / total) * 100) : 0; },
        });
      } catch (err) {
        progress.hidden = true;
        const existing = duplicateOf(err);
        if (existing === null) throw err;
        allowDuplicate = true;
        submitButton.textContent = 'Upload anyway';
        throw new ApiError(409, { message: await duplicateQuestion(existing) });
      }
    },
  });
}

/** A dialog listing every version of the document's file, newest first, with their downloads. */
export async function showVersions(doc) {
  const versions = await api(`${base(doc)}/versions`);
  const list = table(`Versions of ${doc.title}`, [
    { label: 'Version' }, { label: 'File' }, { label: 'Size', class: 'num' }, { label: 'Uploaded' }, { label: 'Download', srOnly: true, class: 'actions' },
  ]);
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  list.body.append(...sorted.map((v) => {
    const url = `${base(doc)}/versions/${encodeURIComponent(v.version)}/download`;
    return h('tr', { 'data-version': v.version },
      h('td', { 'data-label': 'Version' }, `Version ${v.version}`, v.current ? [' ', h('span', { class: 'badge' }, 'Current')] : null),
      h('td', { 'data-label': 'File', class: 'mono' }, v.filename),
      h('td', { 'data-label': 'Size', class: 'num' }, formatBytes(v.size_bytes)),
      h('td', { 'data-label': 'Uploaded' }, timeEl(v.uploaded_at, true),
        v.uploaded_by ? h('div', { class: 'muted' }, `by ${v.uploaded_by.username}`) : null),
      h('td', { class: 'actions' }, h('a', { class: 'btn btn--secondary btn--small', href: url, onclick: (e) => download(e, url) },
        'Download', srOnly(` version ${v.version}`))));
  }));
  await viewDialog({
    title: `Versions of “${doc.title}”`,
    description: 'Clients always get the current version. Every download here is the file as it was uploaded (no watermark).',
    build: (body) => body.append(list.el),
  });
}
