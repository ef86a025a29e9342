// Admin: the Users tab. Create accounts (invited by e-mail, or with a temporary password), edit
// them (email, name, admin flag, groups), resend an invitation, reset a password, unlock, sign
// out everywhere, disable or enable, delete after confirmation.

import { api, ApiError } from './api.js';
import { h, srOnly } from './elements.js';
import { plural, timeEl } from './format.js';
import { checkbox, checkList, clearErrors, conflictOn, field, showError } from './forms.js';
import { reportError, toast } from './toasts.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { pager, stateRow, table } from './tables.js';
import { changed, get, onChange, session } from './admin-data.js';
import { showUserDocuments } from './admin-user-documents.js';

const PER_PAGE = 25;

function userPayload(form, groups) {
  const data = {
    email: form.elements.email.value.trim(),
    full_name: form.elements.full_name.value.trim(),
    is_admin: form.elements.is_admin.checked,
    group_ids: groups.values(),
  };
  return data;
}

function locked(user) {
  return Boolean(user.locked_until) && Date.parse(user.locked_until) > Date.now();
}

function statusBadge(user) {
  if (user.status === 'invited') return h('span', { class: 'badge badge--warn', title: 'Has not chosen a password yet' }, 'Invited');
  return user.is_active ? h('span', { class: 'badge badge--ok' }, 'Active') : h('span', { class: 'badge badge--danger' }, 'Disabled');
}

export function mountUsers(panel) {
  let page = 1;
  let loadSeq = 0;

  /* ----- Create ----- */
  const createForm = h('form', { novalidate: true, 'aria-labelledby': 'new-user-heading' });
  const createSection = h('section', { class: 'panel', 'aria-labelledby': 'new-user-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'new-user-heading' }, 'Add a user')), createForm);
  let createGroups = null;

  async function renderCreateForm() {
    const groups = await get('groups');
    const keep = createGroups ? createGroups.values() : [];
    const username = field({ label: 'Username', name: 'username', required: true, autocomplete: 'off', hint: '3 to 64 letters, digits, dots, dashes or underscores.', attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const email = field({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'off' });
    const fullName = field({ label: 'Full name (optional)', name: 'full_name', autocomplete: 'off' });
    const password = field({ label: 'Temporary password (optional)', name: 'password', type: 'password', autocomplete: 'new-password', hint: 'Leave empty to e-mail an invitation to choose a password. A password set here must be changed at the first sign-in.' });
    const admin = checkbox({ label: 'Administrator (can manage documents, users and settings, and sees every document)', name: 'is_admin' });
    createGroups = checkList({ legend: 'Groups', name: 'group_ids', items: groups.map((g) => ({ value: g.id, label: g.name })), selected: keep, empty: 'No groups yet.' });
    createForm.replaceChildren(
      h('div', { class: 'form-message alert alert--error', role: 'alert', hidden: true }),
      h('div', { class: 'form-grid' }, username.wrap, email.wrap, fullName.wrap, password.wrap),
      admin.wrap, createGroups.wrap,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Create user')));
  }

  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(createForm);
    const submit = createForm.querySelector('button[type=submit]');
    const payload = {
      username: createForm.elements.username.value.trim(),
      password: createForm.elements.password.value,
      ...userPayload(createForm, createGroups),
    };
    if (!payload.full_name) delete payload.full_name;
    if (!payload.password) delete payload.password;
    submit.disabled = true;
    try {
      const user = await api('/api/admin/users', { method: 'POST', json: payload });
      toast(user.status === 'invited' ? `Created “${user.username}” and e-mailed an invitation to ${user.email}.` : `Created the account “${user.username}”.`);
      createForm.reset();
      changed('users');
      page = 1;
      await load();
    } catch (err) {
      showError(createForm, conflictOn(err, /e-?mail/i.test(err.message || '') ? 'email' : 'username'));
    } finally {
      submit.disabled = false;
    }
  });

  /* ----- List ----- */
  const userTable = table('User accounts', [
    { label: 'User' }, { label: 'Groups' }, { label: 'Role' }, { label: 'Status' }, { label: 'Last sign-in' }, { label: 'Actions', srOnly: true, class: 'actions' },
  ]);
  const userPager = pager('Users pages', (p) => {
    page = p;
    load();
  });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const listSection = h('section', { class: 'panel', 'aria-labelledby': 'users-heading' },
    h('div', { class: 'panel__head' }, h('h2', { id: 'users-heading' }, 'Users')), status, userTable.el, userPager.el);
  panel.append(createSection, listSection);

  function row(user) {
    const self = session.me && session.me.id === user.id;
    const edit = h('button', { type: 'button', class: 'btn btn--secondary btn--small' }, 'Edit', srOnly(` ${user.username}`));
    const reset = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Reset password', srOnly(` for ${user.username}`));
    const toggle = h('button', { type: 'button', class: 'btn btn--ghost btn--small', disabled: self, title: self ? 'You cannot disable your own account.' : null },
      user.is_active ? 'Disable' : 'Enable', srOnly(` ${user.username}`));
    const del = h('button', { type: 'button', class: 'btn btn--danger-outline btn--small', disabled: self, title: self ? 'You cannot delete your own account.' : null },
      'Delete', srOnly(` ${user.username}`));
    // Admins see every document: what they have not opened says nothing.
    const docs = user.is_admin ? null
      : h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Documents', srOnly(` of ${user.username}`));
    if (docs) docs.addEventListener('click', () => showUserDocuments(user).catch(reportError));
    const hasFactor = Boolean(user.mfa && (user.mfa.totp || user.mfa.passkeys));
    const resetMfa = hasFactor && !self
      ? h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Reset 2-step', srOnly(` verification of ${user.username}`))
      : null;
    resetMfa?.addEventListener('click', () => resetSecondFactor(user));
    const extra = [];
    if (user.status === 'invited') {
      const resend = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Resend invitation', srOnly(` to ${user.username}`));
      resend.addEventListener('click', () => act(`/api/admin/users/${user.id}/invite`, `A new invitation is on its way to ${user.email}; the previous link no longer works.`));
      extra.push(resend);
    }
    if (locked(user)) {
      const unlock = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Unlock', srOnly(` ${user.username}`));
      unlock.addEventListener('click', () => act(`/api/admin/users/${user.id}/unlock`, `${user.username} can sign in again.`));
      extra.push(unlock);
    }
    if (!self) {
      const signOut = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Sign out everywhere', srOnly(` ${user.username}`));
      signOut.addEventListener('click', () => act(`/api/admin/users/${user.id}/sign-out`, `${user.username} is signed out on every device.`));
      extra.push(signOut);
    }
    edit.addEventListener('click', () => editUser(user));
    reset.addEventListener('click', () => resetPassword(user));
    toggle.addEventListener('click', () => setActive(user, !user.is_active));
    del.addEventListener('click', () => deleteUser(user));
    return h('tr', { 'data-id': user.id, 'data-username': user.username },
      h('td', { 'data-label': 'User' },
        h('div', { class: 'doc-title' }, user.full_name || user.username, self ? h('span', { class: 'muted' }, ' (you)') : null),
        h('div', { class: 'muted' }, user.username, ' · ', user.email)),
      h('td', { 'data-label': 'Groups' }, user.groups && user.groups.length ? user.groups.map((g) => g.name).join(', ') : h('span', { class: 'muted' }, 'None')),
      h('td', { 'data-label': 'Role' }, user.is_admin ? h('span', { class: 'badge badge--admin' }, 'Admin') : 'Client'),
      h('td', { 'data-label': 'Status' }, statusBadge(user),
        hasFactor ? [' ', h('span', { class: 'badge badge--muted' }, '2-step on')] : null,
        locked(user) ? h('div', { class: 'muted' }, h('span', { 'aria-hidden': 'true' }, '🔒 '), 'Locked until ', timeEl(user.locked_until, true)) : null),
      h('td', { 'data-label': 'Last sign-in', class: 'nowrap' }, user.last_login_at ? timeEl(user.last_login_at, true) : h('span', { class: 'muted' }, 'Never')),
      h('td', { class: 'actions' }, h('div', { class: 'btn-row btn-row--wrap' }, edit, docs, ...extra, reset, resetMfa, toggle, del)));
  }

  async function act(path, done) {
    try {
      await api(path, { method: 'POST' });
      toast(done);
      load();
    } catch (err) {
      reportError(err);
    }
  }

  async function load() {
    const seq = ++loadSeq;
    if (!userTable.body.children.length) userTable.body.append(stateRow(userTable.colspan, 'loading', 'Loading users…'));
    try {
      const data = await api('/api/admin/users', { query: { page, per_page: PER_PAGE } });
      if (seq !== loadSeq) return;
      if (!data.items.length && data.total > 0 && page > 1) {
        page = Math.ceil(data.total / data.per_page);
        load();
        return;
      }
      userTable.body.replaceChildren(...(data.items.length ? data.items.map(row) : [stateRow(userTable.colspan, 'No users yet')]));
      status.textContent = `${plural(data.total, 'account')}.`;
      userPager.update(data);
    } catch (err) {
      if (seq !== loadSeq) return;
      userTable.body.replaceChildren(stateRow(userTable.colspan, 'Users could not be loaded', err.message));
      reportError(err);
    }
  }

  async function editUser(user) {
    const groups = await get('groups').catch((err) => {
      reportError(err);
      return null;
    });
    if (!groups) return;
    let groupList = null;
    const saved = await formDialog({
      title: `Edit ${user.username}`,
      submitLabel: 'Save changes',
      build: (body) => {
        const self = session.me && session.me.id === user.id;
        groupList = checkList({ legend: 'Groups', name: 'group_ids', items: groups.map((g) => ({ value: g.id, label: g.name })), selected: (user.groups || []).map((g) => g.id), empty: 'No groups yet.' });
        const admin = checkbox({ label: 'Administrator', name: 'is_admin', checked: user.is_admin });
        const active = checkbox({ label: 'Account active (can sign in)', name: 'is_active', checked: user.is_active });
        if (self) {
          admin.control.disabled = true;
          active.control.disabled = true;
        }
        body.append(...[
          field({ label: 'Email', name: 'email', type: 'email', value: user.email, required: true }).wrap,
          field({ label: 'Full name', name: 'full_name', value: user.full_name || '' }).wrap,
          admin.wrap, active.wrap,
          self && h('p', { class: 'hint muted' }, 'You cannot remove your own administrator rights or disable your own account.'),
          groupList.wrap].filter(Boolean));
      },
      onSubmit: (form) => {
        const payload = { ...userPayload(form, groupList), is_active: form.elements.is_active.checked };
        if (session.me && session.me.id === user.id) {
          delete payload.is_admin;
          delete payload.is_active;
        }
        return api(`/api/admin/users/${user.id}`, { method: 'PATCH', json: payload })
          .catch((err) => { throw /e-?mail/i.test(err.message || '') ? conflictOn(err, 'email') : err; });
      },
    });
    if (saved) {
      toast(`Saved ${saved.username || user.username}.`);
      changed('users');
      load();
    }
  }

  async function resetPassword(user) {
    const saved = await formDialog({
      title: `Reset the password of ${user.username}`,
      description: 'They will be signed out everywhere, and must choose their own password when they next sign in.',
      submitLabel: 'Set new password',
      narrow: true,
      build: (body) => {
        body.append(
          field({ label: 'New password', name: 'password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 10 characters.' }).wrap,
          field({ label: 'Repeat the new password', name: 'confirm', type: 'password', required: true, autocomplete: 'new-password' }).wrap);
      },
      onSubmit: (form) => {
        if (form.elements.password.value !== form.elements.confirm.value) {
          throw new ApiError(422, { message: 'The two passwords differ.', errors: { json: { confirm: ['The two passwords differ.'] } } });
        }
        return api(`/api/admin/users/${user.id}`, { method: 'PATCH', json: { password: form.elements.password.value } });
      },
    });
    if (saved) toast(`New password set for ${user.username}.`);
  }

  async function setActive(user, active) {
    try {
      await api(`/api/admin/users/${user.id}`, { method: 'PATCH', json: { is_active: active } });
      toast(active ? `${user.username} can sign in again.` : `${user.username} is disabled and signed out.`);
      changed('users');
      load();
    } catch (err) {
      reportError(err);
    }
  }

  async function resetSecondFactor(user) {
    const done = await confirmDialog({
      title: `Reset two-step verification of ${user.username}?`,
      message: `Their authenticator app, recovery codes and passkeys stop working; they sign in with their password alone until they enrol again, and are told by e-mail. Do this only after checking who is asking.`,
      confirmLabel: 'Reset',
      action: () => api(`/api/admin/users/${user.id}/mfa`, { method: 'DELETE' }),
    });
    if (done) {
      toast(`Two-step verification of ${user.username} was reset.`);
      load();
    }
  }

  async function deleteUser(user) {
    const done = await confirmDialog({
      title: `Delete ${user.username}?`,
      message: `The account “${user.username}” (${user.email}) will be deleted. Its audit history is kept. To block access but keep the account, disable it instead.`,
      confirmLabel: 'Delete user',
      action: () => api(`/api/admin/users/${user.id}`, { method: 'DELETE' }),
    });
    if (done) {
      toast(`Deleted ${user.username}.`);
      changed('users');
      load();
    }
  }

  onChange('groups', () => {
    renderCreateForm().catch(reportError);
    load();
  });

  renderCreateForm().catch(reportError);
  return { refresh: load };
}
