// The signed-in header shared by the document center and the admin console: who is signed
// in, the admin link, "Change password" and "Sign out". The header's markup is the same on
// every page; what differs (the current page, the admin link) is set here.

import { api, ApiError, SIGNIN_URL } from './api.js';
import { $, $$, h } from './elements.js';
import { checkbox, field } from './forms.js';
import { toast } from './toasts.js';
import { formDialog } from './dialogs.js';

async function signOut(button, { everywhere = false } = {}) {
  button.disabled = true;
  try {
    // An expired access token is refreshed first, so that the logout still revokes the
    // refresh token server-side; if the session is already over there is nothing to end.
    await api('/api/logout', { method: 'POST', redirect: false, query: everywhere ? { everywhere: 'true' } : undefined });
  } catch {
    // Whatever happened, the person asked to leave: go to sign-in.
  }
  location.assign(`${SIGNIN_URL}?signedout=1`);
}

/** A client-side validation failure, shown like the API's 422s. */
function invalid(fieldName, message) {
  return new ApiError(422, { message, errors: { json: { [fieldName]: [message] } } });
}

// The API's rule (backend passwords.MIN_LENGTH / MAX_LENGTH), checked here first so the
// person is told at once, next to the field, instead of by a 422.
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

function changePassword(me, { required = false } = {}) {
  return formDialog({
    title: required ? 'Choose your own password' : 'Change your password',
    description: required
      ? 'Your password was set by an administrator. Choose your own before going on.'
      : 'Other signed-in devices will be signed out.',
    submitLabel: 'Change password',
    narrow: true,
    build(body) {
      // For password managers: which account this is (not shown, not sent).
      const who = document.createElement('input');
      Object.assign(who, { type: 'text', name: 'username', autocomplete: 'username', value: me.username, hidden: true, tabIndex: -1 });
      who.setAttribute('aria-hidden', 'true');
      body.append(
        who,
        field({ label: 'Current password', name: 'current_password', type: 'password', required: true, autocomplete: 'current-password' }).wrap,
        field({ label: 'New password', name: 'new_password', type: 'password', required: true, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters. A passphrase of several words works well.` }).wrap,
        field({ label: 'Repeat the new password', name: 'confirm_password', type: 'password', required: true, autocomplete: 'new-password' }).wrap,
      );
    },
    async onSubmit(form) {
      const current = form.elements.current_password.value;
      const next = form.elements.new_password.value;
      const confirm = form.elements.confirm_password.value;
      if (!current) throw invalid('current_password', 'Enter your current password.');
      if (!next) throw invalid('new_password', 'Enter a new password.');
      if ([...next].length < PASSWORD_MIN) throw invalid('new_password', `Too short: the new password needs at least ${PASSWORD_MIN} characters.`);
      if ([...next].length > PASSWORD_MAX) throw invalid('new_password', `Too long: the new password can have at most ${PASSWORD_MAX} characters.`);
      if (next !== confirm) throw invalid('confirm_password', 'The two new passwords differ.');
      // Make sure the session is fresh first, so that a 401 below can only mean a wrong
      // current password and not an expired token.
      await api('/api/me');
      try {
        await api('/api/me/password', { method: 'POST', json: { current_password: current, new_password: next }, refresh: false });
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403) && !err.errors) {
          throw new ApiError(422, {
            message: 'Your current password is incorrect.',
            errors: { json: { current_password: ['Your current password is incorrect.'] } },
          });
        }
        throw err;
      }
      toast('Your password has been changed.');
      return true;
    },
  });
}

function settings(me) {
  return formDialog({
    title: 'Settings',
    submitLabel: 'Save settings',
    narrow: true,
    build(body) {
      const notify = checkbox({ label: 'E-mail me when new documents are available for me', name: 'notify_new_documents', checked: me.notify_new_documents });
      const everywhere = h('button', { type: 'button', class: 'btn btn--secondary btn--small', id: 'signout-everywhere-btn' }, 'Sign out on every device');
      everywhere.addEventListener('click', () => signOut(everywhere, { everywhere: true }));
      body.append(
        field({ label: 'Full name', name: 'full_name', value: me.full_name || '', autocomplete: 'name' }).wrap,
        notify.wrap,
        h('p', { class: 'hint muted' }, 'At most one e-mail every few minutes, listing the new documents; never the documents themselves.'),
        h('div', { class: 'btn-row' }, everywhere),
      );
    },
    async onSubmit(form) {
      const saved = await api('/api/me', {
        method: 'PATCH',
        json: { full_name: form.elements.full_name.value.trim(), notify_new_documents: form.elements.notify_new_documents.checked },
      });
      Object.assign(me, saved);
      const name = $('#user-name');
      if (name) name.textContent = me.full_name || me.username;
      toast('Your settings are saved.');
      return saved;
    },
  });
}

function addSettingsButton(me) {
  const signout = $('#signout-btn');
  if (!signout || $('#settings-btn')) return;
  const button = h('button', { type: 'button', class: 'btn btn--ghost btn--small', id: 'settings-btn' }, 'Settings');
  button.addEventListener('click', () => settings(me));
  signout.before(button);
}

function markCurrentPage() {
  for (const link of $$('.app-nav__links a')) {
    if (new URL(link.href).pathname === location.pathname) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/**
 * Load the signed-in user (GET /api/me; sends to sign-in when there is no session) and wire
 * the header. Returns the user.
 */
export async function initAccount() {
  markCurrentPage();
  let me = await api('/api/me');
  // A password an administrator chose: nothing else works until the user chooses their own.
  while (me.must_change_password) {
    if (!(await changePassword(me, { required: true }))) {
      await signOut($('#signout-btn') || document.createElement('button'));
      return new Promise(() => {});
    }
    me = await api('/api/me');
  }
  const name = $('#user-name');
  if (name) {
    name.textContent = me.full_name || me.username;
    name.title = `${me.username} · ${me.email}`;
  }
  const adminLink = $('#admin-link');
  if (adminLink) adminLink.closest('li').hidden = !me.is_admin;
  const signout = $('#signout-btn');
  signout?.addEventListener('click', () => signOut(signout));
  $('#change-password-btn')?.addEventListener('click', () => changePassword(me));
  addSettingsButton(me);
  document.body.removeAttribute('aria-busy');
  return me;
}
