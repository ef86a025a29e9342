// Admin: the Groups and Categories tabs. Groups gather clients so a document can be shared
// with all of them at once; categories file documents (quarterly reports, tax forms…).

import { api } from './api.js';
import { h, srOnly } from './elements.js';
import { checkList, clearErrors, conflictOn, field, showError } from './forms.js';
import { reportError, toast } from './toasts.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { stateRow, table } from './tables.js';
import { changed, fetchAll, get, onChange, userLabel } from './admin-data.js';

function memberItems(users) {
  return users.map((u) => ({ value: u.id, label: userLabel(u) }));
}

/** A one-field "create" form (name) with its section; onCreate(name) does the API call. */
function nameForm({ headingId, heading, label, button, onCreate, extra }) {
  const name = field({ label, name: 'name', required: true, autocomplete: 'off', attrs: { maxlength: 100 } });
  const extraSlot = h('div', {});
  const form = h('form', { novalidate: true, 'aria-labelledby': headingId },
    h('div', { class: 'form-message alert alert--error', role: 'alert', hidden: true }),
    h('div', { class: 'form-grid' }, name.wrap), extraSlot,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, button)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await onCreate(name.control.value.trim(), form);
      form.reset();
    } catch (err) {
      showError(form, conflictOn(err, 'name'));
    } finally {
      submit.disabled = false;
    }
  });
  const section = h('section', { class: 'panel', 'aria-labelledby': headingId },
    h('div', { class: 'panel__head' }, h('h2', { id: headingId }, heading)), form);
  return { section, form, extraSlot };
}

export function mountGroups(panel) {
  let members = null;
  const create = nameForm({
    headingId: 'new-group-heading', heading: 'Create a group', label: 'Group name', button: 'Create group',
    onCreate: async (name) => {
      const payload = { name, user_ids: members ? members.values() : [] };
      const group = await api('/api/admin/groups', { method: 'POST', json: payload });
      toast(`Created the group “${group.name}”.`);
      changed('groups');
      changed('users');
    },
  });
  const groupTable = table('Groups', [{ label: 'Group' }, { label: 'Members' }, { label: 'Actions', srOnly: true, class: 'actions' }]);
  const list = h('section', { class: 'panel', 'aria-labelledby': 'groups-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'groups-heading' }, 'Groups')),
    h('p', { class: 'muted' }, 'Share a document with a group and every member sees it, including people added later.'),
    groupTable.el);
  panel.append(create.section, list);

  async function renderMembers() {
    const users = (await get('users')).filter((u) => !u.is_admin);
    members = checkList({ legend: 'Members', name: 'user_ids', items: memberItems(users), empty: 'No client accounts yet.', scroll: true });
    create.extraSlot.replaceChildren(members.wrap);
  }

  async function load() {
    if (!groupTable.body.children.length) groupTable.body.append(stateRow(groupTable.colspan, 'loading', 'Loading groups…'));
    try {
      const [groups, users] = await Promise.all([fetchAll('/api/admin/groups'), get('users')]);
      const byId = new Map(users.map((u) => [u.id, u]));
      groupTable.body.replaceChildren(...(groups.length ? groups.map((g) => {
        const names = (g.user_ids || []).map((id) => (byId.get(id) ? byId.get(id).username : `#${id}`));
        const edit = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Edit', srOnly(` group ${g.name}`));
        const del = h('button', { type: 'button', class: 'btn btn--danger-outline btn--small' }, 'Delete', srOnly(` group ${g.name}`));
        edit.addEventListener('click', () => editGroup(g));
        del.addEventListener('click', () => deleteGroup(g));
        return h('tr', { 'data-id': g.id },
          h('td', { 'data-label': 'Group' }, h('span', { class: 'doc-title' }, g.name)),
          h('td', { 'data-label': 'Members' }, names.length ? `${names.length}: ${names.join(', ')}` : h('span', { class: 'muted' }, 'No members')),
          h('td', { class: 'actions' }, h('div', { class: 'btn-row' }, edit, del)));
      }) : [stateRow(groupTable.colspan, 'No groups yet', 'Create one above, for example “Fund I investors”.')]));
    } catch (err) {
      groupTable.body.replaceChildren(stateRow(groupTable.colspan, 'Groups could not be loaded', err.message));
      reportError(err);
    }
  }

  async function editGroup(group) {
    const users = await get('users').catch((err) => {
      reportError(err);
      return null;
    });
    if (!users) return;
    let memberList = null;
    const saved = await formDialog({
      title: `Edit the group “${group.name}”`,
      submitLabel: 'Save changes',
      build: (body) => {
        const clients = users.filter((u) => !u.is_admin || (group.user_ids || []).includes(u.id));
        memberList = checkList({ legend: 'Members', name: 'user_ids', items: memberItems(clients), selected: group.user_ids || [], empty: 'No client accounts yet.', scroll: true });
        body.append(field({ label: 'Group name', name: 'name', value: group.name, required: true }).wrap, memberList.wrap);
      },
      onSubmit: (form) => api(`/api/admin/groups/${group.id}`, {
        method: 'PATCH', json: { name: form.elements.name.value.trim(), user_ids: memberList.values() },
      }).catch((err) => { throw conflictOn(err, 'name'); }),
    });
    if (saved) {
      toast(`Saved the group “${saved.name || group.name}”.`);
      changed('groups');
      changed('users');
    }
  }

  async function deleteGroup(group) {
    const done = await confirmDialog({
      title: `Delete the group “${group.name}”?`,
      message: 'Its members keep their accounts, but lose access to documents shared only with this group.',
      confirmLabel: 'Delete group',
      action: () => api(`/api/admin/groups/${group.id}`, { method: 'DELETE' }),
    });
    if (done) {
      toast(`Deleted the group “${group.name}”.`);
      changed('groups');
      changed('users');
    }
  }

  onChange('groups', load);
  onChange('users', () => {
    renderMembers().catch(reportError);
    load();
  });
  renderMembers().catch(reportError);
  return { refresh: load };
}

export function mountCategories(panel) {
  const create = nameForm({
    headingId: 'new-category-heading', heading: 'Create a category', label: 'Category name', button: 'Create category',
    onCreate: async (name) => {
      const category = await api('/api/admin/categories', { method: 'POST', json: { name } });
      toast(`Created the category “${category.name}”.`);
      changed('categories');
    },
  });
  const catTable = table('Categories', [{ label: 'Category' }, { label: 'Actions', srOnly: true, class: 'actions' }]);
  const list = h('section', { class: 'panel', 'aria-labelledby': 'categories-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'categories-heading' }, 'Categories')), catTable.el);
  panel.append(create.section, list);

  async function load() {
    if (!catTable.body.children.length) catTable.body.append(stateRow(catTable.colspan, 'loading', 'Loading categories…'));
    try {
      const categories = await get('categories');
      catTable.body.replaceChildren(...(categories.length ? categories.map((c) => {
        const rename = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Rename', srOnly(` ${c.name}`));
        const del = h('button', { type: 'button', class: 'btn btn--danger-outline btn--small' }, 'Delete', srOnly(` ${c.name}`));
        rename.addEventListener('click', () => renameCategory(c));
        del.addEventListener('click', () => deleteCategory(c));
        return h('tr', { 'data-id': c.id },
          h('td', { 'data-label': 'Category' }, h('span', { class: 'doc-title' }, c.name)),
          h('td', { class: 'actions' }, h('div', { class: 'btn-row' }, rename, del)));
      }) : [stateRow(catTable.colspan, 'No categories yet', 'Create one above, for example “Quarterly reports” or “Tax documents”.')]));
    } catch (err) {
      catTable.body.replaceChildren(stateRow(catTable.colspan, 'Categories could not be loaded', err.message));
      reportError(err);
    }
  }

  async function renameCategory(category) {
    const saved = await formDialog({
      title: `Rename “${category.name}”`,
      submitLabel: 'Rename',
      narrow: true,
      build: (body) => body.append(field({ label: 'Category name', name: 'name', value: category.name, required: true }).wrap),
      onSubmit: (form) => api(`/api/admin/categories/${category.id}`, { method: 'PATCH', json: { name: form.elements.name.value.trim() } })
        .catch((err) => { throw conflictOn(err, 'name'); }),
    });
    if (saved) {
      toast(`Renamed to “${saved.name}”.`);
      changed('categories');
    }
  }

  async function deleteCategory(category) {
    const done = await confirmDialog({
      title: `Delete the category “${category.name}”?`,
      message: 'Its documents stay, uncategorised.',
      confirmLabel: 'Delete category',
      action: () => api(`/api/admin/categories/${category.id}`, { method: 'DELETE' }),
    });
    if (done) {
      toast(`Deleted the category “${category.name}”.`);
      changed('categories');
    }
  }

  onChange('categories', load);
  return { refresh: load };
}
