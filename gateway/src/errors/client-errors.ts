import type { GraphQLFormattedError } from 'graphql';
import type { FormatError } from './format-error.ts';

export const PERSISTED_QUERY_HASH_MISMATCH = 'PERSISTED_QUERY_HASH_MISMATCH';

/**
 * Apollo Server refuses an automatic persisted query whose `sha256Hash` is not
 * the hash of the query it came with (HTTP 400) — but with an error that has no
 * code, which error masking would turn into INTERNAL_SERVER_ERROR and log as a
 * bug. It is the client's mistake (or a cache-poisoning attempt), so it gets the
 * code Apollo Router uses for the same case. The message is Apollo Server's own
 * (5.x, requestPipeline); the hostile-input suite fails if it ever changes.
 */
const APOLLO_HASH_MISMATCH_MESSAGE = 'provided sha does not match query';

const isHashMismatch = (formatted: GraphQLFormattedError) =>
  formatted.message === APOLLO_HASH_MISMATCH_MESSAGE && formatted.extensions?.code === 'INTERNAL_SERVER_ERROR';

/** graphql-js appends `Did you mean "x"?` to validation and coercion messages; each names schema members. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Wraps the gateway's error masking: classifies the persisted-query hash
 * mismatch before masking, and in production removes field, argument, type and
 * enum-value suggestions from every message after it. Apollo Server's own
 * `hideSchemaDetailsFromClientErrors` covers validation errors only; variable
 * coercion errors (`$status: "PAYED"` → `Did you mean the enum value "PAID"?`)
 * would still leak the schema, so this catches them all at the last step.
 */
export function clientErrors(mask: FormatError, options: { hideSuggestions: boolean }): FormatError {
  return (formatted, error) => {
    const classified = isHashMismatch(formatted)
      ? { ...formatted, extensions: { ...formatted.extensions, code: PERSISTED_QUERY_HASH_MISMATCH } }
      : formatted;
    const masked = mask(classified, error);
    if (!options.hideSuggestions) return masked;
    const message = masked.message.replace(SUGGESTION, '');
    return message === masked.message ? masked : { ...masked, message };
  };
}
