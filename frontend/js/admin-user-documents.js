// Admin: what one client can see, and what they have (not) opened, page by page.

import { api } from './api.js';
import { h } from './elements.js';
import { plural, timeEl } from './format.js';
import { field } from './forms.js';
import { reportError } from './toasts.js';
import { viewDialog } from './dialogs.js';
import { pager, stateRow, table } from './tables.js';

const PER_PAGE = 20;

const STATUS_TEXT = {
  '': ['document they can see', 'documents they can see'],
  unopened: ['document they have not opened', 'documents they have not opened'],
  opened: ['document they have opened', 'documents they have opened'],
};

export function showUserDocuments(user) {
  const name = user.full_name || user.username;
  return viewDialog({
    title: `Documents of ${name}`,
    description: 'What this client can see, and when they first opened each.',
    build: (body) => {
      let page = 1;
      let seq = 0;
      const filter = field({
        label: 'Show', name: 'status', type: 'select',
        options: [{ value: '', label: 'Everything they can see' }, { value: 'unopened', label: 'Not opened' }, { value: 'opened', label: 'Opened' }],
      });
      filter.wrap.classList.add('user-docs__filter');
      const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
      const list = table(`Documents ${name} can see`, [{ label: 'Document' }, { label: 'Category' }, { label: 'Opened' }]);
      const listPager = pager(`Pages of ${name}’s documents`, (p) => {
        page = p;
        load();
      });
      body.append(h('section', { class: 'user-docs', 'aria-label': `Documents of ${name}` }, filter.wrap, status, list.el, listPager.el));

      async function load() {
        const mine = ++seq;
        list.el.querySelector('table').setAttribute('aria-busy', 'true');
        if (!list.body.children.length) list.body.append(stateRow(list.colspan, 'loading', 'Loading documents…'));
        try {
          const data = await api(`/api/admin/users/${user.id}/documents`, { query: { status: filter.control.value, page, per_page: PER_PAGE } });
          if (mine !== seq) return;
          const [one, many] = STATUS_TEXT[filter.control.value];
          status.textContent = `${plural(data.total, one, many)}.`;
          list.body.replaceChildren(...(data.items.length ? data.items.map((d) => h('tr', { 'data-id': d.id },
            h('td', { 'data-label': 'Document' }, h('div', { class: 'doc-title' }, d.title),
              d.kind === 'link' ? h('span', { class: 'badge badge--muted' }, 'Link') : null),
            h('td', { 'data-label': 'Category' }, d.category ? d.category.name : h('span', { class: 'muted' }, 'None')),
            h('td', { 'data-label': 'Opened', class: 'nowrap' }, d.opened_at ? timeEl(d.opened_at, true) : h('span', { class: 'badge badge--warn' }, 'Not opened'))))
            : [stateRow(list.colspan, 'Nothing here', filter.control.value ? 'No document matches this filter.' : 'This client cannot see any document yet.')]));
          listPager.update(data);
        } catch (err) {
          if (mine !== seq) return;
          list.body.replaceChildren(stateRow(list.colspan, 'Documents could not be loaded', err.message));
          reportError(err);
        } finally {
          if (mine === seq) list.el.querySelector('table').setAttribute('aria-busy', 'false');
        }
      }

      filter.control.addEventListener('change', () => {
        page = 1;
        load();
      });
      load();
    },
  });
}
