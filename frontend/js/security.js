// Security page: the authenticator app (TOTP) with its recovery codes, passkeys, and signing
// out everywhere. Secrets and codes live only in this page's DOM: never stored anywhere.

import { api, ApiError, SessionEndedError, SIGNIN_URL } from './api.js';
import { initAccount } from './account.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { $, h, srOnly } from './elements.js';
import { formatDate } from './format.js';
import { clearErrors, field, setFieldError, showError } from './forms.js';
import { reportError, toast } from './toasts.js';
import { creationOptions, credentialJSON, passkeysSupported, webauthnMessage } from './webauthn.js';

let me = null;

// --- authenticator app ---------------------------------------------------------------

function renderTotp() {
  const on = me.mfa.totp;
  const badge = $('#totp-badge');
  badge.textContent = on ? 'On' : 'Off';
  badge.className = on ? 'badge badge--ok' : 'badge badge--muted';
  $('#totp-start').hidden = on;
  $('#totp-renew').hidden = !on;
  $('#totp-disable').hidden = !on;
}

async function refreshMe() {
  me = await api('/api/me');
  renderTotp();
  $('#enrol-required').hidden = !(new URLSearchParams(location.search).get('enrol') === 'required'
    && !me.mfa.totp && !me.mfa.passkeys);
}

function svgDataUrl(svg) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

async function startTotp() {
  const button = $('#totp-start');
  button.disabled = true;
  try {
    const enrolment = await api('/api/me/mfa/totp', { method: 'POST' });
    $('#totp-qr').src = svgDataUrl(enrolment.qr_svg);
    $('#totp-secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
    $('#totp-enrol').hidden = false;
    $('#totp-code').value = '';
    $('#totp-code').focus();
  } catch (err) {
    reportError(err);
  } finally {
    button.disabled = false;
  }
}

function closeEnrolment() {
  $('#totp-enrol').hidden = true;
  $('#totp-qr').removeAttribute('src');
  $('#totp-secret').textContent = '';
}

function showRecoveryCodes(codes) {
  const list = $('#recovery-codes');
  list.replaceChildren(...codes.map((code) => h('li', {}, code)));
  $('#recovery').hidden = false;
  $('#recovery-heading').focus();
}

function recoveryText() {
  const codes = Array.from($('#recovery-codes').children, (li) => li.textContent);
  return `SequoAlpha recovery codes for ${me.username} (each works once)\n\n${codes.join('\n')}\n`;
}

async function confirmTotp(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const code = form.elements.code.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    setFieldError(form.elements.code, 'Enter the 6 digits your app shows.');
    form.elements.code.focus();
    return;
  }
  form.setAttribute('aria-busy', 'true');
  try {
    const { recovery_codes: codes } = await api('/api/me/mfa/totp/confirm', { method: 'POST', json: { code } });
    closeEnrolment();
    await refreshMe();
    showRecoveryCodes(codes);
    toast('Two-step verification is on.');
  } catch (err) {
    if (err instanceof SessionEndedError) return;
    showError(form, err);
    form.elements.code.focus();
  } finally {
    form.removeAttribute('aria-busy');
  }
}

function codeField(hint) {
  return field({ label: 'Code from your app, or a recovery code', name: 'code', required: true,
    autocomplete: 'one-time-code', hint, attrs: { maxlength: 40, spellcheck: 'false', autocapitalize: 'none' } });
}

function renewCodes() {
  return formDialog({
    title: 'New recovery codes',
    description: 'Your current recovery codes will stop working.',
    submitLabel: 'Make new codes',
    narrow: true,
    build(body) { body.append(codeField().wrap); },
    async onSubmit(form) {
      const { recovery_codes: codes } = await api('/api/me/mfa/recovery-codes', { method: 'POST', json: { code: form.elements.code.value.trim() } });
      showRecoveryCodes(codes);
      return true;
    },
  });
}

function disableTotp() {
  return formDialog({
    title: 'Turn off the authenticator app',
    description: 'Sign-in will no longer ask for a code from your app; your recovery codes stop working.',
    submitLabel: 'Turn off',
    danger: true,
    narrow: true,
    build(body) {
      body.append(
        field({ label: 'Password', name: 'password', type: 'password', required: true, autocomplete: 'current-password' }).wrap,
        codeField().wrap,
      );
    },
    async onSubmit(form) {
      await api('/api/me/mfa', { method: 'DELETE', json: { password: form.elements.password.value, code: form.elements.code.value.trim() } });
      $('#recovery').hidden = true;
      await refreshMe();
      toast('The authenticator app is turned off.');
      return true;
    },
  });
}

// --- passkeys --------------------------------------------------------------------------

async function loadPasskeys() {
  const passkeys = await api('/api/me/passkeys');
  const list = $('#passkey-list');
  list.replaceChildren(...passkeys.map((p) => h('li', {},
    h('div', {},
      h('span', { class: 'passkey-name' }, p.name),
      h('p', { class: 'doc-meta' }, `Added ${formatDate(p.created_at)}`, p.last_used_at ? ` · last used ${formatDate(p.last_used_at)}` : '')),
    h('button', { type: 'button', class: 'btn btn--danger-outline btn--small', onclick: () => removePasskey(p) },
      'Remove', srOnly(` passkey ${p.name}`)))));
  list.hidden = passkeys.length === 0;
  $('#passkeys-empty').hidden = passkeys.length !== 0;
}

async function removePasskey(passkey) {
  const done = await confirmDialog({
    title: 'Remove this passkey?',
    message: `“${passkey.name}” will no longer sign you in.`,
    confirmLabel: 'Remove',
    action: () => api(`/api/me/passkeys/${passkey.id}`, { method: 'DELETE' }),
  });
  if (done) {
    toast('The passkey was removed.');
    await Promise.all([loadPasskeys(), refreshMe()]);
  }
}

async function addPasskey(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const name = form.elements.name.value.trim();
  if (!name) {
    setFieldError(form.elements.name, 'Give the passkey a name, such as the device it is on.');
    form.elements.name.focus();
    return;
  }
  const button = $('#passkey-add');
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    const options = await api('/api/me/passkeys/options', { method: 'POST' });
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    } catch (err) {
      throw new ApiError(400, { message: webauthnMessage(err) });
    }
    await api('/api/me/passkeys', { method: 'POST', json: { credential: credentialJSON(credential), name } });
    form.reset();
    toast('The passkey was added.');
    await Promise.all([loadPasskeys(), refreshMe()]);
  } catch (err) {
    if (err instanceof SessionEndedError) return;
    showError(form, err);
  } finally {
    button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

// --- sessions --------------------------------------------------------------------------

async function signOutEverywhere() {
  const done = await confirmDialog({
    title: 'Sign out everywhere?',
    message: 'Every device signed in to your account, this one included, will have to sign in again.',
    confirmLabel: 'Sign out everywhere',
    action: () => api('/api/logout', { method: 'POST', query: { everywhere: 'true' }, redirect: false }),
  });
  if (done) location.assign(`${SIGNIN_URL}?signedout=1`);
}

// --- start -----------------------------------------------------------------------------

async function main() {
  try {
    me = await initAccount();
    renderTotp();
    await refreshMe();
    $('#totp-start').addEventListener('click', startTotp);
    $('#totp-cancel').addEventListener('click', closeEnrolment);
    $('#totp-confirm-form').addEventListener('submit', confirmTotp);
    $('#totp-renew').addEventListener('click', () => renewCodes().catch(reportError));
    $('#totp-disable').addEventListener('click', () => disableTotp().catch(reportError));
    $('#recovery-copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(recoveryText());
        toast('The recovery codes were copied.');
      } catch {
        toast('Copying is not allowed here; download the codes instead.', 'error');
      }
    });
    $('#recovery-download').addEventListener('click', () => {
      const url = URL.createObjectURL(new Blob([recoveryText()], { type: 'text/plain' }));
      const link = h('a', { href: url, download: 'sequoalpha-recovery-codes.txt', hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
    $('#recovery-done').addEventListener('click', () => {
      $('#recovery').hidden = true;
      $('#recovery-codes').replaceChildren();
      $('#totp-heading').scrollIntoView();
    });
    $('#signout-everywhere').addEventListener('click', () => signOutEverywhere().catch(reportError));
    if (passkeysSupported()) {
      $('#passkey-form').addEventListener('submit', addPasskey);
    } else {
      $('#passkeys-unsupported').hidden = false;
      $('#passkey-form').hidden = true;
    }
    await loadPasskeys();
  } catch (err) {
    reportError(err);
  }
}

main();
