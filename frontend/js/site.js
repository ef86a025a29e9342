// The public pages (home, privacy, disclosures): the current year in the copyright line, the
// firm's contact details, and the menu button that folds the header on a phone.

import { $, $$ } from './elements.js';
import { fillFirmDetails } from './firm-details.js';

function wireMenu() {
  const header = $('.site-header');
  const button = $('#menu-toggle');
  if (!header || !button) return;
  // The header only folds once this script runs: without it every link stays in view.
  header.classList.add('has-menu');
  button.hidden = false;
  const setOpen = (open) => {
    button.setAttribute('aria-expanded', String(open));
    header.classList.toggle('is-open', open);
  };
  button.addEventListener('click', () => setOpen(button.getAttribute('aria-expanded') !== 'true'));
  for (const link of $$('.site-nav a', header)) link.addEventListener('click', () => setOpen(false));
  header.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && button.getAttribute('aria-expanded') === 'true') {
      setOpen(false);
      button.focus();
    }
  });
}

for (const el of $$('[data-year]')) el.textContent = String(new Date().getFullYear());
fillFirmDetails();
wireMenu();
