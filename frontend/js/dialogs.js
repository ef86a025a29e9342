// Modal dialogs: a form in a <dialog>, and the "are you sure?" before something irreversible.

import { SessionEndedError } from './api.js';
import { $, h, uniqueId } from './elements.js';
import { clearErrors, showError } from './forms.js';

/**
 * A modal form dialog. build(form) fills the body; onSubmit(form) may throw an ApiError,
 * shown in the dialog. Resolves with onSubmit's result, or null when cancelled.
 */
export function formDialog({ title, description, submitLabel = 'Save', danger = false, narrow = false, build, onSubmit }) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dlg-title');
    const descId = description ? uniqueId('dlg-desc') : null;
    const body = h('div', { class: 'modal__body' }, h('div', { class: 'form-message alert alert--error', role: 'alert', hidden: true }));
    const submit = h('button', { type: 'submit', class: danger ? 'btn btn--danger' : 'btn' }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn btn--secondary', value: 'cancel' }, 'Cancel');
    const form = h(
      'form',
      { class: 'modal__form', novalidate: true },
      h('div', { class: 'modal__head' }, h('h2', { id: titleId }, title), description ? h('p', { id: descId, class: 'muted' }, description) : null),
      body,
      h('div', { class: 'modal__foot' }, cancel, submit),
    );
    const dialog = h('dialog', { class: narrow ? 'modal modal--narrow' : 'modal', 'aria-labelledby': titleId, 'aria-describedby': descId }, form);
    let result = null;
    if (build) build(body, form);
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      submit.disabled = true;
      form.setAttribute('aria-busy', 'true');
      try {
        result = onSubmit ? await onSubmit(form) : true;
        if (result === undefined) result = true;
        dialog.close();
      } catch (err) {
        if (err instanceof SessionEndedError) return;
        showError(form, err);
      } finally {
        submit.disabled = false;
        form.removeAttribute('aria-busy');
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const firstInput = $('input:not([type=hidden]):not([hidden]), select, textarea', body);
    (firstInput || submit).focus();
  });
}

/** Ask before doing something irreversible. Resolves true when confirmed. */
export async function confirmDialog({ title, message, confirmLabel = 'Delete', action }) {
  const result = await formDialog({
    title,
    description: message,
    submitLabel: confirmLabel,
    danger: true,
    narrow: true,
    onSubmit: async () => {
      if (action) await action();
      return true;
    },
  });
  return result === true;
}

/** A modal that only shows something (a list, a report): build(body) fills it; one Close button. */
export function viewDialog({ title, description, build }) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dlg-title');
    const descId = description ? uniqueId('dlg-desc') : null;
    const body = h('div', { class: 'modal__body' });
    const close = h('button', { type: 'button', class: 'btn btn--secondary' }, 'Close');
    const dialog = h('dialog', { class: 'modal', 'aria-labelledby': titleId, 'aria-describedby': descId },
      h('div', { class: 'modal__form' },
        h('div', { class: 'modal__head' }, h('h2', { id: titleId }, title), description ? h('p', { id: descId, class: 'muted' }, description) : null),
        body,
        h('div', { class: 'modal__foot' }, close)));
    close.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    });
    if (build) build(body);
    document.body.append(dialog);
    dialog.showModal();
    ($('input:not([type=hidden]), select', body) || close).focus();
  });
}
