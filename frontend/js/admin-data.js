// Data the admin console's sections share (users, groups, categories, storage mode), fetched
// once and refreshed when a section changes it.

import { api } from './api.js';

/** Every item of a list endpoint, page by page (accepts a plain array too). */
export async function fetchAll(path, query = {}) {
  const items = [];
  for (let page = 1; page <= 50; page += 1) {
    const data = await api(path, { query: { ...query, page, per_page: 100 } });
    if (Array.isArray(data)) return data;
    items.push(...data.items);
    if (items.length >= data.total || data.items.length === 0) break;
  }
  return items;
}

const cache = new Map();
const listeners = new Map();

function loader(kind) {
  switch (kind) {
    case 'users': return () => fetchAll('/api/admin/users');
    case 'groups': return () => fetchAll('/api/admin/groups');
    case 'categories': return () => api('/api/admin/categories');
    default: throw new Error(`unknown kind ${kind}`);
  }
}

/** Cached list of 'users' | 'groups' | 'categories'. */
export function get(kind) {
  if (!cache.has(kind)) {
    const promise = loader(kind)().catch((err) => {
      cache.delete(kind);
      throw err;
    });
    cache.set(kind, promise);
  }
  return cache.get(kind);
}

/** Forget a list after a change and tell the sections that show it. */
export function changed(kind) {
  cache.delete(kind);
  for (const fn of listeners.get(kind) || []) fn();
}

export function onChange(kind, fn) {
  if (!listeners.has(kind)) listeners.set(kind, new Set());
  listeners.get(kind).add(fn);
}

export const session = { me: null, s3InUse: false };

/** GET /api/health tells whether S3 is configured at all ("disabled" when it is off). */
export async function loadStorageMode() {
  try {
    const health = await api('/api/health', { refresh: false });
    session.s3InUse = Boolean(health && health.storage && health.storage.s3 !== 'disabled');
  } catch (err) {
    // A 503 still carries the same shape; anything else: assume S3 is in use (show marks).
    const body = err && err.body;
    session.s3InUse = !(body && body.storage && body.storage.s3 === 'disabled');
  }
  return session.s3InUse;
}

export function userLabel(user) {
  return user.full_name ? `${user.full_name} (${user.username})` : user.username;
}
