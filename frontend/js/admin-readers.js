// Admin: a document's readers (its audience: who opened it, when, how often), and a reminder
// to those who have not opened it yet.

import { api } from './api.js';
import { h } from './elements.js';
import { plural, timeEl } from './format.js';
import { field } from './forms.js';
import { reportError, toast } from './toasts.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { stateRow, table } from './tables.js';

/** "12 of 40 opened" for the document list. */
export function readersSummary(readers) {
  if (!readers) return null;
  return `${readers.opened} of ${readers.audience} opened`;
}

export async function showReaders(doc) {
  const sent = await formDialog({
    title: `Readers of “${doc.title}”`,
    description: 'Active clients who can see this document.',
    submitLabel: 'Remind those who haven’t',
    build: (body) => {
      const filter = field({
        label: 'Show', name: 'status', type: 'select',
        options: [{ value: '', label: 'Everyone' }, { value: 'unopened', label: 'Not opened' }, { value: 'opened', label: 'Opened' }],
      });
      const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
      const list = table('Readers', [{ label: 'Client' }, { label: 'Opened' }, { label: 'Downloads' }]);
      body.append(filter.wrap, status, list.el);
      const load = async () => {
        list.body.replaceChildren(stateRow(list.colspan, 'loading', 'Loading readers…'));
        try {
          const data = await api(`/api/admin/documents/${doc.id}/readers`, { query: { status: filter.control.value, per_page: 100 } });
          status.textContent = `${plural(data.total, 'reader')}.`;
          list.body.replaceChildren(...(data.items.length ? data.items.map((r) => h('tr', {},
            h('td', { 'data-label': 'Client' }, r.user.full_name || r.user.username, h('div', { class: 'muted' }, r.user.email)),
            h('td', { 'data-label': 'Opened' }, r.opened_at ? timeEl(r.opened_at, true) : h('span', { class: 'badge badge--warn' }, 'Not opened')),
            h('td', { 'data-label': 'Downloads' }, String(r.downloads))))
            : [stateRow(list.colspan, 'Nobody here', 'No client matches this filter.')]));
        } catch (err) {
          list.body.replaceChildren(stateRow(list.colspan, 'Readers could not be loaded', err.message));
          reportError(err);
        }
      };
      filter.control.addEventListener('change', load);
      load();
    },
    onSubmit: async () => {
      let queued = null;
      const confirmed = await confirmDialog({
        title: 'Send reminders?',
        message: `Everyone who can see “${doc.title}” and has not opened it gets a reminder e-mail (at most one a day).`,
        confirmLabel: 'Send reminders',
        action: async () => { ({ queued } = await api(`/api/admin/documents/${doc.id}/remind`, { method: 'POST' })); },
      });
      return confirmed ? { queued } : null;
    },
  });
  if (sent && typeof sent.queued === 'number') {
    toast(sent.queued ? `${plural(sent.queued, 'reminder')} queued.` : 'Nobody to remind: everyone has opened it or was reminded today.');
  }
}
