// Admin: the Mail tab. The outbox, newest first: pending, sent, and failed messages with the
// mail server's last answer. Bodies are never shown (they may have held a link's token).

import { api } from './api.js';
import { h } from './elements.js';
import { plural, timeEl } from './format.js';
import { reportError } from './toasts.js';
import { pager, stateRow, table } from './tables.js';

const PER_PAGE = 25;
const STATUSES = [['', 'All'], ['pending', 'Pending'], ['sent', 'Sent'], ['failed', 'Failed']];
const BADGES = { pending: 'badge--warn', sent: 'badge--ok', failed: 'badge--danger' };

export function mountMail(panel) {
  let page = 1;
  let loadSeq = 0;
  const filter = h('select', { id: 'mail-status', name: 'status' }, ...STATUSES.map(([value, label]) => h('option', { value }, label)));
  const mailTable = table('Outgoing e-mail', [
    { label: 'Created' }, { label: 'To' }, { label: 'Kind' }, { label: 'Subject' }, { label: 'Status' }, { label: 'Attempts' }, { label: 'Sent' }, { label: 'Last error' },
  ]);
  const mailPager = pager('Mail pages', (p) => {
    page = p;
    load();
  });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  panel.append(h('section', { class: 'panel', 'aria-labelledby': 'mail-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'mail-heading' }, 'Outgoing e-mail'),
      h('div', { class: 'field field--inline' }, h('label', { for: 'mail-status' }, 'Show'), filter)),
    status, mailTable.el, mailPager.el));
  filter.addEventListener('change', () => {
    page = 1;
    load();
  });

  function row(m) {
    return h('tr', { 'data-id': m.id },
      h('td', { 'data-label': 'Created', class: 'nowrap' }, timeEl(m.created_at, true)),
      h('td', { 'data-label': 'To' }, m.to),
      h('td', { 'data-label': 'Kind' }, m.kind.replace(/_/g, ' ')),
      h('td', { 'data-label': 'Subject' }, m.subject),
      h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${BADGES[m.status] || 'badge--muted'}` }, m.status)),
      h('td', { 'data-label': 'Attempts' }, String(m.attempts)),
      h('td', { 'data-label': 'Sent', class: 'nowrap' }, m.sent_at ? timeEl(m.sent_at, true) : h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Last error' }, m.last_error || h('span', { class: 'muted' }, '—')));
  }

  async function load() {
    const seq = ++loadSeq;
    if (!mailTable.body.children.length) mailTable.body.append(stateRow(mailTable.colspan, 'loading', 'Loading messages…'));
    try {
      const data = await api('/api/admin/mail', { query: { page, per_page: PER_PAGE, status: filter.value } });
      if (seq !== loadSeq) return;
      mailTable.body.replaceChildren(...(data.items.length ? data.items.map(row) : [stateRow(mailTable.colspan, 'No messages')]));
      status.textContent = `${plural(data.total, 'message')}.`;
      mailPager.update(data);
    } catch (err) {
      if (seq !== loadSeq) return;
      mailTable.body.replaceChildren(stateRow(mailTable.colspan, 'Messages could not be loaded', err.message));
      reportError(err);
    }
  }

  return { refresh: load };
}
