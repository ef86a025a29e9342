// Short messages that are not tied to a form, announced politely to screen readers.

import { SessionEndedError } from './api.js';
import { $, h } from './elements.js';

function toastRegion() {
  let region = $('#toast-region');
  if (!region) {
    region = h('div', { id: 'toast-region', class: 'toast-region', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  return region;
}

export function toast(text, kind = 'info') {
  const region = toastRegion();
  const item = h('div', { class: kind === 'error' ? 'toast toast--error' : 'toast' }, text);
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4500);
}

/** Report an error that has no form to live in. */
export function reportError(err) {
  // The page is already on its way to sign-in: nothing to say.
  if (err instanceof SessionEndedError) return;
  toast(err instanceof Error ? err.message : String(err), 'error');
}
