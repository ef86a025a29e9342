// Admin console: tabs for Documents, Users, Groups, Categories, the Audit log and Mail. Each tab
// is mounted the first time it is shown; the URL hash (#users…) remembers the tab.

import { SessionEndedError } from './api.js';
import { initAccount } from './account.js';
import { $, $$ } from './elements.js';
import { reportError } from './toasts.js';
import { loadStorageMode, session } from './admin-data.js';
import { mountDocuments } from './admin-documents.js';
import { mountUsers } from './admin-users.js';
import { mountCategories, mountGroups } from './admin-groups.js';
import { mountAudit } from './admin-audit.js';
import { mountMail } from './admin-mail.js';

const TABS = ['documents', 'users', 'groups', 'categories', 'audit', 'mail'];
const mounted = new Map();

function panelOf(name) {
  return $(`#panel-${name}`);
}

function mount(name) {
  if (mounted.has(name)) return mounted.get(name);
  const panel = panelOf(name);
  let section;
  switch (name) {
    case 'documents': section = mountDocuments(panel, { showAudit: (filters) => showAudit(filters) }); break;
    case 'users': section = mountUsers(panel); break;
    case 'groups': section = mountGroups(panel); break;
    case 'categories': section = mountCategories(panel); break;
    case 'mail': section = mountMail(panel); break;
    default: section = mountAudit(panel);
  }
  mounted.set(name, section);
  return section;
}

function select(name, { focus = false, updateHash = true, refresh = true } = {}) {
  if (!TABS.includes(name)) name = 'documents';
  for (const tabName of TABS) {
    const tab = $(`#tab-${tabName}`);
    const on = tabName === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    panelOf(tabName).hidden = !on;
  }
  if (focus) $(`#tab-${name}`).focus();
  if (updateHash && location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  const section = mount(name);
  if (refresh) Promise.resolve(section.refresh()).catch(reportError);
  return section;
}

function showAudit(filters) {
  const section = select('audit', { refresh: false, focus: true });
  section.show(filters);
}

function wireTabs() {
  const tabs = $$('[role="tab"]');
  tabs.forEach((tab, index) => {
    const name = tab.id.replace('tab-', '');
    tab.addEventListener('click', () => select(name));
    tab.addEventListener('keydown', (e) => {
      let next = null;
      if (e.key === 'ArrowRight') next = tabs[(index + 1) % tabs.length];
      else if (e.key === 'ArrowLeft') next = tabs[(index - 1 + tabs.length) % tabs.length];
      else if (e.key === 'Home') next = tabs[0];
      else if (e.key === 'End') next = tabs[tabs.length - 1];
      if (next) {
        e.preventDefault();
        select(next.id.replace('tab-', ''), { focus: true });
      }
    });
  });
  window.addEventListener('hashchange', () => select(location.hash.slice(1), { updateHash: false }));
}

async function main() {
  let me;
  try {
    me = await initAccount();
  } catch (err) {
    const loading = $('#console-loading');
    if (!(err instanceof SessionEndedError)) loading.textContent = `The admin console could not be loaded: ${err.message} Reload the page to try again.`;
    reportError(err);
    return;
  }
  session.me = me;
  $('#console-loading').hidden = true;
  if (!me.is_admin) {
    $('#not-admin').hidden = false;
    return;
  }
  await loadStorageMode();
  $('#console').hidden = false;
  wireTabs();
  select(location.hash.slice(1) || 'documents', { updateHash: false });
}

main();
