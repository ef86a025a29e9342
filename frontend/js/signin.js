// Sign-in page: POST /api/login sets the httpOnly session cookies; the tokens in the JSON
// answer are deliberately ignored (never kept in script-readable storage).

import { api, ApiError, readCookie, refreshSession } from './api.js';
import { $ } from './elements.js';
import { formatWait } from './format.js';
import { safeNext } from './next-url.js';
import { fillFirmDetails } from './firm-details.js';
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

if (params.get('expired') === '1') {
  showNotice('Your session has expired. Please sign in again.', 'warn');
} else if (params.get('signedout') === '1') {
  showNotice('You have signed out. Thank you for visiting.', 'success');
} else if (params.get('next')) {
  showNotice('Please sign in to continue.', 'info');
}

const HOME = '/frontend/documents.html';
const ADMIN_HOME = '/frontend/admin.html';

/** Where a signed-in user goes: ?next= when it is safe and theirs, else their landing page. */
function destination(user) {
  const next = safeNext(params.get('next'));
  if (next && !(next.startsWith(ADMIN_HOME) && !user.is_admin)) return next;
  return user.is_admin ? ADMIN_HOME : HOME;
}

/**
 * Sent here from a page or a download whose access token had expired: when a refresh cookie
 * is still here, renew the session silently and go straight back, without asking again.
 */
async function resumeSession() {
  if (!safeNext(params.get('next')) || params.get('expired') === '1' || params.get('signedout') === '1') return;
  if (readCookie('csrf_refresh_token') === null || !(await refreshSession())) return;
  try {
    const me = await api('/api/me', { refresh: false });
    location.replace(destination(me || {}));
  } catch {
    // The refreshed session did not hold: the form is there to sign in again.
  }
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

fillFirmDetails();
form.elements.username.focus();
resumeSession();
