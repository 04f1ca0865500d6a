/**
 * How deeply a request's JSON may nest. GraphQL variables and extensions
 * need a handful of levels; a body of 100,000 nested arrays parses fine but
 * overflows the stack of whatever walks it next (hashing, coercion,
 * serialization), which would be a 500 a client chose. Refused up front, as
 * the client's mistake.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `text`, read as JSON, opens more than `limit` arrays or objects
 * at once. One pass, no allocation; brackets inside strings do not count.
 * Text that is not JSON at all is left to the parser to refuse.
 */
export function nestsDeeperThan(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}
