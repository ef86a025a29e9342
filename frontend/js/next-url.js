// Where sign-in may send someone back to: checked strictly, so that ?next= can never be
// used to send a person to another site (an open redirect).

/**
 * The page to go to after sign-in, from ?next=, or null. Only a path on this site under
 * /frontend/ (a page) or /api/documents/ (a download the browser was sent away from) is
 * accepted: anything that could leave the site (//host, a scheme, a backslash, which some
 * browsers read as a slash) or escape those folders (../) is ignored, never followed.
 */
export function safeNext(raw) {
  if (typeof raw !== 'string' || raw.length > 2048) return null;
  if (raw.includes('//') || raw.includes('\\') || /[\s\x00-\x1f\x7f]/.test(raw)) return null;
  const [, path, rest = ''] = raw.match(/^([^?#]*)(.*)$/s);
  const page = /^\/frontend\/[\w-]+\.html$/.test(path) && path !== '/frontend/signin.html';
  const download = /^\/api\/documents\/[\w-]+(?:\/[\w-]+)*$/.test(path);
  if (!page && !download) return null;
  // Belt and braces: the browser's own reading of it must stay on this site, on that path.
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin || url.pathname !== path) return null;
  return path + rest;
}
