// The HTTP API v1, under the server's route prefix (the server writes it into the page).
// The UI uses nothing else: what it shows, a script can fetch too.

/** The route prefix ("" or "/prefix"), from the page the server served. */
export const prefix = (document.querySelector('meta[name="route-prefix"]')?.content || '').replace(/\/$/, '');

/** An API failure: the server's errorType and error, or the HTTP status. */
export class ApiError extends Error {
  constructor(message, type, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/**
 * GETs (or POSTs, for long queries) `/api/v1/<path>` and returns the whole envelope
 * ({status, data, warnings, infos}); throws ApiError on failure.
 */
export async function api(path, params = {}, { signal, method } = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) body.append(k, String(one));
  }
  const url = `${prefix}/api/v1/${path}`;
  const query = body.toString();
  const usePost = method === 'POST' || (method === undefined && query.length > 2000);
  let res;
  try {
    res = usePost
      ? await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: query,
          signal,
          credentials: 'same-origin',
        })
      : await fetch(query ? `${url}?${query}` : url, { signal, credentials: 'same-origin' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 'network', 0);
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    throw new ApiError(`${res.status} ${res.statusText}: not a JSON answer`, 'http', res.status);
  }
  if (!res.ok || json.status !== 'success') {
    throw new ApiError(json.error || `${res.status} ${res.statusText}`, json.errorType || 'http', res.status);
  }
  return json;
}
