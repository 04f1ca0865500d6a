import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherRequestInit } from '@apollo/utils.fetcher';
import { Agent, fetch as undiciFetch } from 'undici';
import { SIGNATURE_HEADERS, signSubgraphRequest } from '@storefront/platform/auth/gateway-signature';
import type { Identity } from '@storefront/platform/auth/identity';
import type { GatewayContext } from './context.ts';

/**
 * How the gateway calls a subgraph: a keep-alive HTTP client per subgraph
 * (undici), and an HMAC signature over the exact body sent, the caller's
 * identity and a timestamp. Subgraphs refuse anything unsigned, so the
 * identity cannot be forged by calling them directly.
 */
const IDENTITY_CARRIER = 'x-storefront-internal-identity';

export function createSignedDataSource(options: {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  /** Called once per subgraph request (metrics, batching tests). */
  onFetch?: () => void;
}) {
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 128,
    connectTimeout: Math.min(options.timeoutMs, 3_000),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });

  // The data source serialises the body itself; signing happens here, on the bytes that are sent.
  const signingFetcher: Fetcher = async (url, init: FetcherRequestInit = {}) => {
    const headers = { ...(init.headers as Record<string, string>) };
    const carried = headers[IDENTITY_CARRIER];
    delete headers[IDENTITY_CARRIER];
    const identity = carried ? (JSON.parse(carried) as Identity) : null;
    const body = typeof init.body === 'string' ? init.body : '';
    Object.assign(headers, signSubgraphRequest(options.secret, body, identity));
    options.onFetch?.();
    const response = await undiciFetch(url, {
      method: init.method ?? 'POST',
      headers,
      body,
      dispatcher: agent,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return response as unknown as Awaited<ReturnType<Fetcher>>;
  };

  return new (class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
    override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
      const identity = (context as Partial<GatewayContext>).identity ?? null;
      request.http?.headers.set(IDENTITY_CARRIER, identity ? JSON.stringify(identity) : '');
      const requestId = (context as Partial<GatewayContext>).requestId;
      if (requestId) request.http?.headers.set('x-request-id', requestId);
      // Never pass these through from a client.
      request.http?.headers.delete(SIGNATURE_HEADERS.identity);
    }
  })({ url: options.url, fetcher: signingFetcher });
}
