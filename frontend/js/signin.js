// Sign-in page: POST /api/login sets the httpOnly session cookies; the tokens in the JSON
// answer are deliberately ignored (never kept in script-readable storage).

import { api, ApiError } from './api.js';
import { $ } from './elements.js';
import { formatWait } from './format.js';
import { clearErrors, fieldErrors, setFieldError, setFormMessage, showError } from './forms.js';

const form = $('#signin-form');
const submit = $('#signin-submit');
const notice = $('#notice');
const params = new URLSearchParams(location.search);

function showNotice(text, kind = 'info') {
  notice.className = `alert alert--${kind}`;
  notice.textContent = text;
  notice.hidden = false;
}

if (params.get('password') === 'set') {
  showNotice('Your password is set. Sign in with it now.', 'success');
} else if (params.get('expired') === '1') {
  showNotice('Your session has expired. Please sign in again.', 'warn');
} else if (params.get('signedout') === '1') {
  showNotice('You have signed out. Thank you for visiting.', 'success');
} else if (params.get('next')) {
  showNotice('Please sign in to continue.', 'info');
}

/** Only same-site portal pages are allowed as a destination after sign-in. */
function destination(user) {
  const next = params.get('next') || '';
  if (/^\/frontend\/[\w\-/.]*\.html([?#][^\s]*)?$/.test(next) && !next.startsWith('/frontend/signin.html')) {
    if (next.startsWith('/frontend/admin.html') && !user.is_admin) return '/frontend/documents.html';
    return next;
  }
  return '/frontend/documents.html';
}

function messageFor(err) {
  if (!(err instanceof ApiError)) return 'Sign-in failed. Please try again.';
  switch (err.status) {
    case 401:
      return 'The username/email or password is incorrect.';
    case 403:
      return 'This account has been disabled. Please contact client service.';
    case 429: {
      const wait = formatWait(err.retryAfterSeconds);
      return wait
        ? `Too many failed attempts: this account is temporarily locked. Try again in ${wait}.`
        : 'Too many failed attempts: this account is temporarily locked. Please try again later.';
    }
    default:
      return err.message;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  notice.hidden = true;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  let invalid = null;
  if (!password) {
    setFieldError(form.elements.password, 'Enter your password.');
    invalid = form.elements.password;
  }
  if (!username) {
    setFieldError(form.elements.username, 'Enter your username or email address.');
    invalid = form.elements.username;
  }
  if (invalid) {
    invalid.focus();
    return;
  }

  submit.disabled = true;
  submit.textContent = 'Signing in…';
  form.setAttribute('aria-busy', 'true');
  try {
    const data = await api('/api/login', { method: 'POST', json: { username, password }, refresh: false });
    notice.hidden = true;
    location.assign(destination(data.user || {}));
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {
      showError(form, err);
      if (!Object.keys(fieldErrors(err)).length) setFormMessage(form, 'Enter your username or email and your password.');
    } else if (err instanceof ApiError && err.status === 429 && err.retryAfterSeconds) {
      countDownLock(err.retryAfterSeconds);
    } else {
      setFormMessage(form, messageFor(err));
    }
    form.elements.password.value = '';
    form.elements.password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
    form.removeAttribute('aria-busy');
  }
});

// The lockout message counts down and clears by itself when the lock ends.
let lockTimer = null;
function countDownLock(seconds) {
  clearInterval(lockTimer);
  const until = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(lockTimer);
      clearErrors(form);
      return;
    }
    setFormMessage(form, `Too many failed attempts: this account is temporarily locked. Try again in ${formatWait(left)}.`);
  };
  tick();
  lockTimer = setInterval(tick, 1000);
}
