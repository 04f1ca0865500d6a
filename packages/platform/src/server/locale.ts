/**
 * The caller's preferred locale, from the `accept-language` the gateway
 * passes on to subgraphs that ask for it (gateway/headers.yaml): the first
 * language range of the highest weight, if it is a well-formed BCP 47 tag
 * (`*` and anything malformed count as none). Resolvers read it as
 * `context.locale` to answer in the caller's language where they can.
 */
const TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

export function localeOf(acceptLanguage: string | string[] | undefined): string | undefined {
  if (typeof acceptLanguage !== 'string' || acceptLanguage.length > 256) return undefined;
  let best: { tag: string; q: number } | undefined;
  for (const range of acceptLanguage.split(',')) {
    const [tag = '', ...params] = range.trim().split(';');
    const q = Number(
      params
        .map((p) => p.trim())
        .find((p) => p.startsWith('q='))
        ?.slice(2) ?? 1,
    );
    if (!TAG.test(tag) || !(q > 0)) continue;
    if (!best || q > best.q) best = { tag, q };
  }
  return best?.tag;
}
