// Choosing a password with the link of an invitation or a password reset. The token travels in
// the URL fragment (#token=…), which never reaches a server; it is taken out of the address bar
// at once (history, bookmarks, a shared screen) and sent only in the body of POST /api/password/reset.

import { api, ApiError } from './api.js';
import { $ } from './elements.js';
import { clearErrors, setFieldError, setFormMessage, showError } from './forms.js';

const form = $('#password-form');
const submit = $('#password-submit');
const notice = $('#notice');
const token = new URLSearchParams(location.hash.slice(1)).get('token');
history.replaceState(null, '', location.pathname);

function badLink(text) {
  notice.textContent = text;
  notice.hidden = false;
  form.hidden = true;
}

if (!token) badLink('This page needs the link from your e-mail. Open the link again, or ask for a new one.');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  const next = form.elements.new_password.value;
  if (!next) {
    setFieldError(form.elements.new_password, 'Choose a password.');
    form.elements.new_password.focus();
    return;
  }
  if (next !== form.elements.confirm_password.value) {
    setFieldError(form.elements.confirm_password, 'The two passwords differ.');
    form.elements.confirm_password.focus();
    return;
  }
  submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    await api('/api/password/reset', { method: 'POST', json: { token, new_password: next }, refresh: false, redirect: false });
    location.assign('/frontend/signin.html?password=set');
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) badLink(`${err.message}`);
    else if (err instanceof ApiError && err.status === 422) showError(form, err);
    else setFormMessage(form, err.message);
  } finally {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
  }
});
