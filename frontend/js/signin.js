// Sign-in page: POST /api/login sets the httpOnly session cookies; the tokens in the JSON
// answer are deliberately ignored (never kept in script-readable storage).

import { api, ApiError, readCookie, refreshSession } from './api.js';
import { $ } from './elements.js';
import { formatWait } from './format.js';
import { safeNext } from './next-url.js';
import { fillFirmDetails } from './firm-details.js';
import { clearErrors, fieldErrors, setFieldError, setFormMessage, showError } from './forms.js';
import { credentialJSON, passkeysSupported, requestOptions, webauthnMessage } from './webauthn.js';

const form = $('#signin-form');
const mfaForm = $('#mfa-form');
let mfaToken = null;
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
    if (data.mfa_required) {
      showSecondStep(data);
      return;
    }
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

// --- the second step: a code from the app or a recovery code ---------------------------

function showSecondStep(data) {
  mfaToken = data.mfa_token;
  form.hidden = true;
  $('#passkey-signin').hidden = true;
  mfaForm.hidden = false;
  $('#mfa-passkey').hidden = !(data.methods.includes('passkey') && passkeysSupported());
  const onlyPasskey = !data.methods.includes('totp');
  $('#mfa-help').textContent = onlyPasskey
    ? 'This account signs in with a passkey: use it to continue.'
    : 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.';
  mfaForm.elements.code.closest('.field').hidden = onlyPasskey;
  $('#mfa-submit').hidden = onlyPasskey;
  (onlyPasskey ? $('#mfa-heading') : mfaForm.elements.code).focus();
}

function restart() {
  mfaToken = null;
  mfaForm.hidden = true;
  mfaForm.reset();
  clearErrors(mfaForm);
  form.hidden = false;
  $('#passkey-signin').hidden = !passkeysSupported();
  form.elements.password.value = '';
  form.elements.username.focus();
}

function codeMessage(err) {
  if (err instanceof ApiError && err.status === 401) {
    return /expired|completed/.test(err.message)
      ? 'This sign-in has expired. Start again with your password.'
      : 'This code is wrong or has already been used.';
  }
  return messageFor(err);
}

mfaForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(mfaForm);
  const code = mfaForm.elements.code.value.trim();
  if (!code) {
    setFieldError(mfaForm.elements.code, 'Enter the code from your app or a recovery code.');
    mfaForm.elements.code.focus();
    return;
  }
  const button = $('#mfa-submit');
  button.disabled = true;
  mfaForm.setAttribute('aria-busy', 'true');
  try {
    const data = await api('/api/login/mfa', { method: 'POST', json: { mfa_token: mfaToken, code }, refresh: false });
    location.assign(destination(data.user || {}));
  } catch (err) {
    setFormMessage(mfaForm, codeMessage(err));
    mfaForm.elements.code.value = '';
    mfaForm.elements.code.focus();
  } finally {
    button.disabled = false;
    mfaForm.removeAttribute('aria-busy');
  }
});

$('#mfa-restart').addEventListener('click', restart);

// --- passkeys: both factors at once, no username ----------------------------------------

async function signInWithPasskey(button, showMessage) {
  button.disabled = true;
  try {
    const options = await api('/api/login/passkey/options', { method: 'POST', refresh: false });
    let credential;
    try {
      credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    } catch (err) {
      showMessage(webauthnMessage(err));
      return;
    }
    const data = await api('/api/login/passkey', { method: 'POST', json: { credential: credentialJSON(credential) }, refresh: false });
    location.assign(destination(data.user || {}));
  } catch (err) {
    showMessage(err instanceof ApiError && err.status === 401
      ? 'This passkey was not accepted. Sign in with your password, or try another passkey.'
      : messageFor(err));
  } finally {
    button.disabled = false;
  }
}

if (passkeysSupported()) {
  $('#passkey-signin').hidden = false;
  const message = $('#passkey-message');
  $('#passkey-submit').addEventListener('click', (event) => signInWithPasskey(event.currentTarget, (text) => {
    message.textContent = text;
    message.hidden = false;
  }));
  $('#mfa-passkey').addEventListener('click', (event) => signInWithPasskey(event.currentTarget, (text) => setFormMessage(mfaForm, text)));
}

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

fillFirmDetails();
form.elements.username.focus();
resumeSession();
