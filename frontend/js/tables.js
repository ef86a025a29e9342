// Lists as tables: the table itself, its full-width state rows and the pager under it.

import { h, srOnly, uniqueId } from './elements.js';

/**
 * Previous / Page x of y / Next, and "Go to page N". onPage(page) is called with the page
 * wanted, then the list (the pager's section) is scrolled back to its top, so a new page is
 * read from its first row. withTotal adds "· N in all" to the page line, for lists that do
 * not state their total elsewhere.
 */
export function pager(label, onPage, { withTotal = true } = {}) {
  const prev = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, '← Previous', srOnly(' page'));
  const next = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Next', srOnly(' page'), ' →');
  const info = h('p', {});
  const jumpId = uniqueId('page-jump');
  const jumpInput = h('input', { type: 'number', id: jumpId, name: 'page', min: 1, inputmode: 'numeric', class: 'page-jump__input' });
  const jump = h('form', { class: 'page-jump', novalidate: true },
    h('label', { for: jumpId }, 'Go to page'), jumpInput,
    h('button', { type: 'submit', class: 'btn btn--secondary btn--small' }, 'Go', srOnly(' to this page')));
  const nav = h('nav', { class: 'pagination', 'aria-label': label, hidden: true }, prev, info, jump, next);
  let current = 1;
  let pages = 1;
  const go = (page) => {
    const wanted = Math.min(Math.max(1, page), pages);
    if (wanted === current) return;
    onPage(wanted);
    const top = nav.closest('section, [role="tabpanel"]') || document.body;
    top.scrollIntoView({ block: 'start' });
  };
  prev.addEventListener('click', () => go(current - 1));
  next.addEventListener('click', () => go(current + 1));
  jump.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = Number.parseInt(jumpInput.value, 10);
    if (Number.isInteger(wanted)) go(wanted);
    jumpInput.value = '';
  });
  return {
    el: nav,
    update(data) {
      pages = pageCount(data);
      current = data.page;
      info.textContent = `Page ${data.page} of ${pages}${withTotal ? ` · ${data.total} in all` : ''}`;
      jumpInput.max = String(pages);
      prev.disabled = data.page <= 1;
      next.disabled = data.page >= pages;
      nav.hidden = pages <= 1;
    },
  };
}

/** Pages in a paginated answer {total, per_page}; at least one, so "Page 1 of 1" when empty. */
export function pageCount(data) {
  return Math.max(1, Math.ceil(data.total / data.per_page));
}

/** A table with a caption and column headers; returns {el, body}. cols: [{label, class?, hidden?}] */
export function table(caption, cols, { stack = true } = {}) {
  const body = h('tbody', {});
  const el = h('div', { class: 'table-wrap' },
    h('table', { class: stack ? 'table table--stack' : 'table' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.class }, c.srOnly ? srOnly(c.label) : c.label)))),
      body));
  return { el, body, colspan: cols.length };
}

/** One full-width row for loading / empty / error states. */
export function stateRow(colspan, title, text, action) {
  return h('tr', {}, h('td', { colspan, class: 'state' },
    title === 'loading' ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), text || 'Loading…']
      : [h('h3', {}, title), text ? h('p', {}, text) : null, action || null]));
}
