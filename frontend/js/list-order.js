// The order and the "unread only" choice of a document list (the client's and the admin's),
// kept in the list's state object so that url-state.js writes them to the address.

import { h, uniqueId } from './elements.js';

// Without a search the API's default is -date; with one it is relevance ("Best match").
const SORTS = [
  ['-date', 'Newest document date first'],
  ['date', 'Oldest first'],
  ['title', 'Title A–Z'],
  ['-title', 'Title Z–A'],
  ['-created', 'Recently added'],
];

/**
 * A sort select and an "Unread only" checkbox bound to state.sort ('' = the API's default) and
 * state.unread ('true' or ''). onChange() runs after either changes (state.page is reset).
 * sync() re-reads the state (call it after state.q changed). extra: more controls on the row.
 */
export function listOrder(state, onChange, { extra = [] } = {}) {
  const sortId = uniqueId('sort');
  const unreadId = uniqueId('unread');
  const select = h('select', { id: sortId, name: 'sort' });
  const unread = h('input', { type: 'checkbox', id: unreadId, name: 'unread' });
  const el = h('div', { class: 'list-order' },
    h('div', { class: 'field' }, h('label', { for: sortId }, 'Sort by'), select),
    h('div', { class: 'field field--inline' }, unread, h('label', { for: unreadId }, 'Unread only')),
    ...extra);

  function sync() {
    const searching = Boolean(state.q);
    if (!SORTS.some(([value]) => value === state.sort) || (!searching && state.sort === '-date')) state.sort = '';
    const options = searching ? [['', 'Best match'], ...SORTS] : [['', SORTS[0][1]], ...SORTS.slice(1)];
    select.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)));
    select.value = state.sort;
    unread.checked = state.unread === 'true';
  }

  select.addEventListener('change', () => {
    state.sort = select.value;
    state.page = 1;
    onChange();
  });
  unread.addEventListener('change', () => {
    state.unread = unread.checked ? 'true' : '';
    state.page = 1;
    onChange();
  });
  sync();
  return { el, sync };
}
