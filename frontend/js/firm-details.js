// Fills every element marked data-firm="clientService.phone" (a path into FIRM) with that
// detail: a link becomes tel:/mailto:, a list of lines becomes one paragraph per line.

import { FIRM } from './firm.js';
import { $$, h } from './elements.js';

function lookup(path) {
  return path.split('.').reduce((value, key) => (value && Object.hasOwn(value, key) ? value[key] : undefined), FIRM);
}

export function fillFirmDetails(root = document) {
  for (const el of $$('[data-firm]', root)) {
    const key = el.dataset.firm;
    const value = lookup(key);
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      el.replaceChildren(...value.map((line) => h('p', {}, line)));
      continue;
    }
    el.textContent = value;
    if (el.tagName === 'A' && key.endsWith('.phone')) el.href = `tel:${value.replace(/[^+\d]/g, '')}`;
    else if (el.tagName === 'A' && key.endsWith('.email')) el.href = `mailto:${value}`;
  }
}
