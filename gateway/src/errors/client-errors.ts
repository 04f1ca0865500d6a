import type { FormatError } from './format-error.ts';

/** graphql-js appends `Did you mean "x"?` to validation and coercion messages; each names schema members. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Wraps the gateway's error masking: in production removes field, argument, type and
 * enum-value suggestions from every message after it. Apollo Server's own
 * `hideSchemaDetailsFromClientErrors` covers validation errors only; variable
 * coercion errors (`$status: "PAYED"` → `Did you mean the enum value "PAID"?`)
 * would still leak the schema, so this catches them all at the last step.
 */
export function clientErrors(mask: FormatError, options: { hideSuggestions: boolean }): FormatError {
  return (formatted, error) => {
    const masked = mask(formatted, error);
    if (!options.hideSuggestions) return masked;
    const message = masked.message.replace(SUGGESTION, '');
    return message === masked.message ? masked : { ...masked, message };
  };
}
