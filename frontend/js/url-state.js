// A list's place (page, filters) kept in the address, so that a reload or a shared link
// opens the same page of the same list. replaceState: moving through a list does not fill
// the browser's history with one entry per page.

/** {key: value} read from the query string for these keys ('' when absent); page is a number ≥ 1. */
export function readListState(keys) {
  const params = new URLSearchParams(location.search);
  const state = {};
  for (const key of keys) state[key] = params.get(key) || '';
  if (keys.includes('page')) state.page = Math.max(1, Number.parseInt(state.page || '1', 10) || 1);
  return state;
}

/** Write the state to the query string, leaving out empty values and page 1; the hash stays. */
export function writeListState(state) {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(state)) {
    if (value === '' || value === null || value === undefined || (key === 'page' && Number(value) <= 1)) params.delete(key);
    else params.set(key, String(value));
  }
  const qs = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`);
}
