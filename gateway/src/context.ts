import type { Context } from '@opentelemetry/api';
import type { Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';

/** Per-request context of the gateway; the data sources read the identity from it. */
export interface GatewayContext {
  identity: Identity | null;
  requestId: string;
  /** The client address rate limits key anonymous callers by. */
  clientIp?: string;
  logger: Logger;
  /** The app calling, from Apollo Client's client-awareness headers (headers/). */
  client?: { name: string; version?: string } | undefined;
  /** Answer headers subgraphs set that headers.yaml passes back to the client (headers/). */
  answerHeaders?: Map<string, string>;
  /** This request's access-log line, filled in as it runs (access-log/); absent with ACCESS_LOG=false. */
  access?: AccessRecord;
  /**
   * The trace context of this request's span (tracing/): spans of its parse,
   * plan and fetches are its children. Absent with tracing off.
   */
  trace?: Context;
}

/** What the GraphQL layer adds to a request's access-log line (access-log/), shared through its context. */
export interface AccessRecord {
  client?: { name: string; version?: string };
  operationName?: string;
  operationType?: string;
  subgraphFetches: Record<string, number>;
  cacheHit: boolean;
  errorCodes: string[];
}
