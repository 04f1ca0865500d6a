/**
 * The path and query of an HTTP request target (RFC 9112 §3.2), or undefined
 * when it is not one this server can answer, so the caller answers 400.
 *
 * - origin-form (`/graphql?…`), nearly every request: split at `?` without
 *   building a URL object (the hot path); the path must be made of RFC 3986
 *   path characters and well-formed percent-escapes (`//[` is refused). The
 *   query is left to its reader (Apollo Server's URLSearchParams), which
 *   accepts what real clients send unencoded, such as `{` in a GET's JSON.
 * - absolute-form (`http://host/graphql`, as a proxy may send): the WHATWG
 *   parser, which refuses an invalid host (`http://[::1/graphql`).
 * - anything else (asterisk-form, authority-form, garbage): refused.
 */
export interface RequestTarget {
  pathname: string;
  search: string;
}

/** pchar / "/" (RFC 3986 §3.3), with percent-escapes checked separately. */
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (!target) return undefined;
  if (target.charCodeAt(0) === 47 /* '/' */) {
    const query = target.indexOf('?');
    const pathname = query === -1 ? target : target.slice(0, query);
    if (!PATH.test(pathname) || BAD_ESCAPE.test(pathname)) return undefined;
    return { pathname, search: query === -1 ? '' : target.slice(query) };
  }
  if (!/^https?:\/\//i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  return { pathname: url.pathname, search: url.search };
}
