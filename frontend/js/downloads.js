// Download and view links for documents. They are real links (keyboard, middle-click and
// "copy link" work), but a plain click first makes sure the session is alive, refreshing the
// access token if needed, so that an expired token never ends on a raw 401 page.

import { ensureSession, SessionEndedError } from './api.js';
import { h, srOnly } from './elements.js';
import { reportError } from './toasts.js';

export const downloadUrl = (doc, inline = false) =>
  `/api/documents/${encodeURIComponent(doc.id)}/download${inline ? '?disposition=inline' : ''}`;

function isPlainClick(event) {
  return event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey;
}

async function openInNewTab(event, url) {
  if (!isPlainClick(event)) return;
  event.preventDefault();
  // Open the tab synchronously (still inside the click) so no pop-up blocker interferes.
  const tab = window.open('about:blank', '_blank');
  if (tab) tab.opener = null;
  try {
    await ensureSession();
    if (tab) tab.location.replace(url);
    else location.assign(url);
  } catch (err) {
    if (tab) tab.close();
    if (!(err instanceof SessionEndedError)) reportError(err);
  }
}

/** A plain click on a link to an attachment: make sure the session is alive, then download. */
export async function download(event, url, onDone) {
  if (!isPlainClick(event)) return;
  event.preventDefault();
  try {
    await ensureSession();
    // An attachment response downloads without leaving the page.
    location.assign(url);
    if (onDone) onDone();
  } catch (err) {
    if (!(err instanceof SessionEndedError)) reportError(err);
  }
}

/** One link that opens the document in a new tab (the PDF viewer, or the external page). */
export function viewLink(doc, className = 'btn btn--secondary btn--small') {
  const url = downloadUrl(doc, doc.kind !== 'link');
  return h('a', { class: className, href: url, target: '_blank', rel: doc.kind === 'link' ? 'noopener noreferrer' : 'noopener', onclick: (e) => openInNewTab(e, url) },
    doc.kind === 'link' ? 'Open link' : 'View', srOnly(` ${doc.title} (opens in a new tab)`));
}

/** Action links for one document: View + Download for files, Open for links. */
export function documentActions(doc, { onDownloaded } = {}) {
  if (doc.kind === 'link') return [viewLink(doc, 'btn btn--small')];
  const attachment = downloadUrl(doc);
  return [
    viewLink(doc),
    h('a', { class: 'btn btn--small', href: attachment, 'data-action': 'download', onclick: (e) => download(e, attachment, onDownloaded) },
      'Download', srOnly(` ${doc.title}`)),
  ];
}

/** The name a download gets when none is set: the title made safe, with .pdf (as the API derives it). */
export function defaultDownloadName(title) {
  // eslint-disable-next-line no-control-regex
  let name = String(title || '').normalize('NFC').replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, ' ');
  name = name.replace(/\p{C}/gu, '').replace(/\s+/g, ' ').replace(/^[ .]+|[ .]+$/g, '');
  if (name.toLowerCase().endsWith('.pdf')) name = name.slice(0, -4).replace(/[ .]+$/, '');
  name = name.slice(0, 196).replace(/[ .]+$/, '');
  return name ? `${name}.pdf` : 'document.pdf';
}
