// A search-as-you-type picker (the ARIA 1.2 combobox pattern with a listbox popup): the text
// asks the server for a few matches, after a pause in typing, instead of loading every
// choice up front. Arrow keys move through the suggestions, Enter picks one, Escape closes
// the list (a second Escape clears the text).

import { h, uniqueId } from './elements.js';

const DEBOUNCE_MS = 250;

/**
 * search(text, signal) -> [{value, label}] (at most a handful). onPick({value, label} | null)
 * is called when a choice is made or the text is cleared. Returns {wrap, input, value(), set(choice)}.
 */
export function combobox({ label, name, hint, placeholder, search, onPick = () => {} }) {
  const id = uniqueId(name);
  const listId = `${id}-list`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id, name, type: 'text', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    'aria-describedby': hintId, placeholder,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'combobox__list', 'aria-label': `${label}: suggestions`, hidden: true });
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const wrap = h('div', { class: 'field combobox' },
    h('label', { for: id }, label),
    h('div', { class: 'combobox__box' }, input, list),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null, live);

  let chosen = null; // {value, label}
  let options = [];
  let active = -1;
  let timer = null;
  let inFlight = null;

  function open(on) {
    list.hidden = !on;
    input.setAttribute('aria-expanded', String(on));
    if (!on) setActive(-1);
  }

  function setActive(index) {
    active = index;
    Array.from(list.children).forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
    if (index >= 0 && list.children[index]) {
      input.setAttribute('aria-activedescendant', list.children[index].id);
      list.children[index].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function render(items, text) {
    options = items;
    list.replaceChildren(...(items.length
      ? items.map((item, i) => {
        const li = h('li', { id: `${listId}-${i}`, role: 'option', class: 'combobox__option', 'aria-selected': 'false' }, item.label);
        // mousedown, not click: picking must happen before the input's blur closes the list.
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          pick(item);
        });
        return li;
      })
      : [h('li', { class: 'combobox__empty', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', id: `${listId}-none` }, `Nothing matches “${text}”`)]));
    if (!items.length) options = [];
    live.textContent = items.length ? `${items.length} suggestion${items.length === 1 ? '' : 's'}` : 'No suggestions';
    open(true);
  }

  function pick(item) {
    chosen = item;
    input.value = item ? item.label : '';
    open(false);
    onPick(item);
  }

  async function query(text) {
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const items = await search(text, controller.signal);
      if (controller.signal.aborted || input.value.trim() !== text) return;
      render(items, text);
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      live.textContent = 'Suggestions could not be loaded.';
      open(false);
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (chosen && input.value !== chosen.label) {
      chosen = null;
      onPick(null);
    }
    if (!text) {
      open(false);
      return;
    }
    timer = setTimeout(() => query(text), DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (e) => {
    const expanded = !list.hidden;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!expanded) {
        if (input.value.trim()) query(input.value.trim());
        return;
      }
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + options.length) % options.length);
    } else if (e.key === 'Enter') {
      if (expanded && active >= 0 && options[active]) {
        e.preventDefault(); // picks; does not submit the form around it
        pick(options[active]);
      }
    } else if (e.key === 'Escape') {
      if (expanded) {
        e.preventDefault();
        e.stopPropagation(); // inside a dialog: close the list, not the dialog
        open(false);
      } else if (input.value) {
        e.preventDefault();
        e.stopPropagation();
        clearTimeout(timer);
        pick(null);
      }
    }
  });
  input.addEventListener('blur', () => open(false));

  return {
    wrap,
    input,
    value: () => (chosen ? chosen.value : ''),
    /** Show a choice made elsewhere (from the address, or another tab); null clears. */
    set(choice) {
      clearTimeout(timer);
      chosen = choice;
      input.value = choice ? choice.label : '';
      open(false);
    },
  };
}
