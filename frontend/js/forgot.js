// "Forgot your password?": asks for a reset link. The answer is the same whether or not the
// address is an account's, so the page says so without telling which.

import { api, ApiError } from './api.js';
import { $ } from './elements.js';
import { formatWait } from './format.js';
import { clearErrors, setFieldError, setFormMessage, showError } from './forms.js';

const form = $('#forgot-form');
const submit = $('#forgot-submit');
const notice = $('#notice');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  notice.hidden = true;
  const email = form.elements.email.value.trim();
  if (!email) {
    setFieldError(form.elements.email, 'Enter the e-mail address of your account.');
    form.elements.email.focus();
    return;
  }
  submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    const answer = await api('/api/password/forgot', { method: 'POST', json: { email }, refresh: false, redirect: false });
    notice.textContent = `${answer.message} Check your inbox (and your spam folder).`;
    notice.hidden = false;
    form.reset();
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) showError(form, err);
    else if (err instanceof ApiError && err.status === 429) {
      const wait = formatWait(err.retryAfterSeconds);
      setFormMessage(form, wait ? `Too many requests. Try again in ${wait}.` : err.message);
    } else setFormMessage(form, err.message);
  } finally {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
  }
});
