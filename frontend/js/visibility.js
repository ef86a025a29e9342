// The visibility picker: who may see a document. Admins always see everything; clients see a
// document shared with everyone, with one of their groups, or with them by name.

import { $$, h, uniqueId } from './elements.js';
import { userLabel } from './admin-data.js';

function mode(value) {
  if (!value) return 'admins';
  if (value.everyone) return 'everyone';
  if ((value.group_ids || []).length || (value.user_ids || []).length) return 'selected';
  return 'admins';
}

function checkGroup(legend, name, items, chosen, emptyText, withFilter) {
  const list = h('ul', { class: 'check-list check-list--scroll' });
  for (const item of items) {
    const id = uniqueId(name);
    list.append(h('li', { 'data-text': item.label.toLowerCase() },
      h('input', { type: 'checkbox', id, name, value: String(item.id), checked: chosen.has(item.id) }),
      h('label', { for: id }, item.label)));
  }
  const children = [h('legend', {}, legend)];
  if (!items.length) {
    children.push(h('p', { class: 'check-list__empty' }, emptyText));
  } else {
    if (withFilter && items.length > 8) {
      const filterId = uniqueId(`${name}-filter`);
      const filter = h('input', { type: 'search', id: filterId, placeholder: 'Type a name', autocomplete: 'off' });
      filter.addEventListener('input', () => {
        const needle = filter.value.trim().toLowerCase();
        for (const li of list.children) li.hidden = Boolean(needle) && !li.dataset.text.includes(needle);
      });
      children.push(h('div', { class: 'field' }, h('label', { for: filterId }, `Filter ${legend.toLowerCase()}`), filter));
    }
    children.push(list);
  }
  return h('fieldset', {}, children);
}

/**
 * Build the picker. groups: [{id,name}], users: User[] (admins are left out: they see all).
 * Returns {el, value()} where value() is {everyone, group_ids, user_ids}.
 */
export function visibilityPicker({ groups, users, value, legend = 'Who can see it' }) {
  const name = uniqueId('visibility');
  const current = mode(value);
  const groupIds = new Set(value?.group_ids || []);
  const userIds = new Set(value?.user_ids || []);
  const options = [
    ['admins', 'Only administrators', 'Not shared with clients yet.'],
    ['everyone', 'All clients', 'Every signed-in client can see it.'],
    ['selected', 'Selected groups and clients', 'Only the groups and people you tick below.'],
  ];
  const radios = options.map(([val, label, hint]) => {
    const id = uniqueId(name);
    return h('div', { class: 'field field--inline' },
      h('input', { type: 'radio', id, name, value: val, checked: val === current }),
      h('label', { for: id }, label, ' ', h('span', { class: 'muted' }, `— ${hint}`)));
  });
  const clients = users.filter((u) => !u.is_admin);
  const groupBox = checkGroup('Groups', `${name}-groups`, groups.map((g) => ({ id: g.id, label: g.name })), groupIds,
    'No groups yet: create them in the Groups tab.', false);
  const userBox = checkGroup('Clients', `${name}-users`, clients.map((u) => ({ id: u.id, label: userLabel(u) })), userIds,
    'No client accounts yet: create them in the Users tab.', true);
  const selected = h('div', { class: 'split' }, groupBox, userBox);
  const el = h('fieldset', { 'data-field': 'visibility' }, h('legend', {}, legend), radios, selected);

  const chosenMode = () => ($$(`input[name="${name}"]:checked`, el)[0] || {}).value || 'admins';
  const sync = () => {
    selected.hidden = chosenMode() !== 'selected';
  };
  el.addEventListener('change', sync);
  sync();

  return {
    el,
    value() {
      const m = chosenMode();
      const ids = (box) => $$('input[type=checkbox]:checked', box).map((c) => Number(c.value));
      return {
        everyone: m === 'everyone',
        group_ids: m === 'selected' ? ids(groupBox) : [],
        user_ids: m === 'selected' ? ids(userBox) : [],
      };
    },
  };
}

/** A short text for a document's visibility, using names where known. */
export function describeVisibility(visibility, groups, users) {
  if (!visibility) return 'Only administrators';
  if (visibility.everyone) return 'All clients';
  const gNames = (visibility.group_ids || []).map((id) => (groups.find((g) => g.id === id) || { name: `group #${id}` }).name);
  const uNames = (visibility.user_ids || []).map((id) => {
    const u = users.find((x) => x.id === id);
    return u ? u.username : `user #${id}`;
  });
  const parts = [];
  if (gNames.length) parts.push(`${gNames.length === 1 ? 'Group' : 'Groups'}: ${gNames.join(', ')}`);
  if (uNames.length) parts.push(`${uNames.length === 1 ? 'Client' : 'Clients'}: ${uNames.join(', ')}`);
  return parts.length ? parts.join(' · ') : 'Only administrators';
}
