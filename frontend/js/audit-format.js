// How an audit event reads in the Audit log tab: its action as words, and its details as a
// sentence (counts with the right singular or plural, sizes in KB/MB, changes as before → after).

import { formatBytes, plural } from './format.js';

export const ACTIONS = [
  ['document_downloaded', 'Document downloaded'],
  ['document_uploaded', 'Document uploaded'],
  ['document_version_added', 'New version added'],
  ['link_created', 'Link added'],
  ['document_updated', 'Document updated'],
  ['document_deleted', 'Document deleted'],
  ['readers_reminded', 'Readers reminded'],
  ['login', 'Signed in'],
  ['login_failed', 'Failed sign-in'],
  ['logout', 'Signed out'],
  ['password_changed', 'Password changed'],
  ['password_change_failed', 'Wrong current password'],
  ['user_created', 'User created'],
  ['user_updated', 'User updated'],
  ['user_deleted', 'User deleted'],
  ['group_created', 'Group created'],
  ['group_updated', 'Group updated'],
  ['group_deleted', 'Group deleted'],
  ['category_created', 'Category created'],
  ['category_updated', 'Category updated'],
  ['category_deleted', 'Category deleted'],
];
const ACTION_LABELS = new Map(ACTIONS);

/** "Document downloaded"; an action this page does not know yet reads "Some action". */
export function actionLabel(action) {
  if (ACTION_LABELS.has(action)) return ACTION_LABELS.get(action);
  const words = String(action || '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const FIELD_NAMES = {
  full_name: 'full name', category_id: 'category', external_url: 'link address', is_admin: 'administrator',
  is_active: 'active', group_ids: 'groups', user_ids: 'clients', size_bytes: 'size',
};
const fieldName = (key) => FIELD_NAMES[key] || key.replace(/_/g, ' ');

// Details already shown elsewhere in the row (the document column names the title).
const SHOWN_ELSEWHERE = new Set(['title', 'group_id', 'category_id']);

function visibilityText(v) {
  if (v.everyone) return 'all clients';
  const parts = [];
  if (v.group_ids && v.group_ids.length) parts.push(plural(v.group_ids.length, 'group'));
  if (v.user_ids && v.user_ids.length) parts.push(plural(v.user_ids.length, 'client'));
  return parts.length ? parts.join(' and ') : 'admins only';
}

function valueText(value) {
  if (value === null || value === undefined || value === '') return 'none';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none';
  if (typeof value === 'object') {
    if ('everyone' in value) return visibilityText(value);
    return Object.entries(value).map(([k, v]) => `${fieldName(k)} ${valueText(v)}`).join(', ');
  }
  return typeof value === 'string' ? `“${value}”` : String(value);
}

function changesText(changes) {
  const parts = Object.entries(changes || {}).map(([key, pair]) => {
    const [before, after] = Array.isArray(pair) ? pair : [undefined, pair];
    if (key === 'description') return 'description changed';
    if (key === 'category_id') return 'category changed';
    return `${fieldName(key)}: ${valueText(before)} → ${valueText(after)}`;
  });
  return parts.length ? parts.join('; ') : 'nothing changed';
}

/** The event's details as one line ('' when there is nothing to say). */
export function detailText(action, detail) {
  if (detail === null || detail === undefined || detail === '') return '';
  if (typeof detail === 'string') return detail;
  if (action === 'document_updated' && detail.changes) return changesText(detail.changes);
  if (action === 'readers_reminded') {
    return detail.count ? `${plural(detail.count, 'reminder')} sent` : 'nobody to remind';
  }
  if (Array.isArray(detail.fields)) {
    return detail.fields.length ? `changed ${detail.fields.map(fieldName).join(', ')}` : '';
  }
  const parts = [];
  for (const [key, value] of Object.entries(detail)) {
    if (SHOWN_ELSEWHERE.has(key)) continue;
    if (key === 'size_bytes') parts.push(formatBytes(value));
    else if (key === 'count' || key.endsWith('_count')) parts.push(plural(value, key === 'count' ? 'item' : fieldName(key.slice(0, -6))));
    else if (key === 'via') parts.push(value === 's3' ? 'from S3' : value === 'local' ? 'from this server' : value === 'link' ? 'link opened' : `via ${value}`);
    else if (key === 'watermarked') parts.push(value ? 'watermarked' : 'not watermarked');
    else if (key === 'reason' || key === 'filename' || key === 'username' || key === 'name') parts.push(String(value));
    else parts.push(`${fieldName(key)}: ${valueText(value)}`);
  }
  return parts.join(' · ');
}
