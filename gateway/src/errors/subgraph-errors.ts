import { SUBGRAPH_ERROR_CODES } from '../transport/index.ts';
import type { FormatError } from './format-error.ts';

const PUBLIC_CODES = new Set<unknown>([SUBGRAPH_ERROR_CODES.timeout, SUBGRAPH_ERROR_CODES.unavailable]);

/**
 * Lets the timeout and unavailable errors through the gateway's error masking
 * (which hides every code it does not know) with their message, code and
 * subgraph name only; everything else goes to `mask` unchanged.
 */
export function exposeSubgraphErrors(mask: FormatError): FormatError {
  return (formatted, error) => {
    const code = formatted.extensions?.code;
    if (!PUBLIC_CODES.has(code)) return mask(formatted, error);
    return {
      message: formatted.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code, serviceName: formatted.extensions?.serviceName },
    };
  };
}
