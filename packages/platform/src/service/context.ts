import type { Identity } from '../auth/identity.ts';
import type { Logger } from '../logger/logger.ts';

/** What every subgraph resolver can count on in its context. */
export interface BaseContext {
  identity: Identity | null;
  logger: Logger;
  requestId: string;
  /** The caller's preferred locale, where the gateway passes `accept-language` to this subgraph (server/locale.ts). */
  locale?: string | undefined;
}
