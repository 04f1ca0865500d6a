import { OperationTypeNode } from 'graphql';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type {
  GatewayGraphQLRequest,
  GatewayGraphQLResponse,
  GatewayHTTPRequest,
} from '@apollo/server-gateway-interface';
import { signSubgraphRequest } from '@storefront/platform/auth';
import type { GatewayContext } from '../context.ts';
import { badResponse, subgraphError } from './errors.ts';
import { ReceivedHeaders, type Exchange } from './received-response.ts';
import type { FetchDedup } from './fetch-dedup.ts';
import type { SubgraphClient } from './subgraph-client.ts';

/** Set by willSendRequest on the request's `http` object when the fetch is a query (may be shared or retried). */
const QUERY_FETCH = Symbol('storefront.queryFetch');
/** Set by willSendRequest: the client's headers this subgraph receives (headers/). */
const PROPAGATED = Symbol('storefront.propagatedHeaders');
type MarkedHttp = GatewayHTTPRequest & { [QUERY_FETCH]?: true; [PROPAGATED]?: Record<string, string> };
/**
 * Set by the tracing layer (carryTraceparent) on the fetch's request object
 * itself: `process` replaces `request.http` before sending, but the copy it
 * sends keeps the request's own properties, symbols included.
 */
const TRACEPARENT = Symbol('storefront.traceparent');
type TracedRequest = GatewayGraphQLRequest & { [TRACEPARENT]?: string };

/**
 * Gives one subgraph fetch the `traceparent` its request carries (the fetch
 * span's, gateway/src/tracing/). The gateway passes trace contexts
 * explicitly rather than through an active context, so it is handed over
 * here, on the fetch's own request.
 */
export function carryTraceparent(request: GatewayGraphQLRequest, traceparent: string | undefined): void {
  if (traceparent) (request as TracedRequest)[TRACEPARENT] = traceparent;
}

/**
 * What answers a query's entity fetches from entities it holds: the
 * gateway's entity cache (caching/entity-cache/), declared here so the
 * transport does not depend on it.
 */
export interface EntityFetchCache {
  /** Whether it answers this fetch (an `_entities` fetch). */
  handles(request: GatewayGraphQLRequest): boolean;
  fetch(fetch: {
    subgraph: string;
    request: GatewayGraphQLRequest;
    /** What besides the body may change the subgraph's answer: the caller's role and propagated headers. */
    caller: string;
    /** Sends a fetch (the request with the representations it does not hold) to the subgraph. */
    send: (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>;
  }): Promise<GatewayGraphQLResponse>;
}

/** Which client headers go to a subgraph, and which answer headers come back (gateway/src/headers/). */
export interface HeaderPropagation {
  forSubgraph(name: string, incoming: { get(name: string): string | undefined | null }): Record<string, string>;
  passedBack: ReadonlySet<string>;
}

export interface SubgraphDataSourceOptions {
  name: string;
  /** The subgraph's client now: a reloaded traffic-shaping file may replace it (transport/index.ts). */
  client: () => SubgraphClient;
  secret: string;
  /** Shares identical query fetches in flight (SUBGRAPH_DEDUP); undefined: every fetch is sent. */
  fetchDedup: FetchDedup<Exchange> | undefined;
  headerRules?: HeaderPropagation | undefined;
  /** Answers a query's entity fetches from the public entities it holds (caching/entity-cache/); undefined: off. */
  entityCache?: EntityFetchCache | undefined;
}

/**
 * How the gateway calls a subgraph. Still a RemoteGraphQLDataSource, whose
 * `process` builds the request and folds each answer's Cache-Control header
 * into the response's cache policy (`honorSubgraphCacheControlHeader`), but
 * its `sendRequest` is replaced: the stock one builds a node-fetch Request per
 * call only to hand it to error hooks this gateway does not use (~6 µs and a
 * copy of the body), and goes through a WHATWG fetch. Here the body is signed
 * (HMAC over the exact bytes sent, the caller's identity, a timestamp and a
 * nonce: subgraphs refuse anything else) and POSTed through the subgraph's
 * undici pool (subgraph-client.ts).
 *
 * Headers sent: content-type, x-request-id, the signature headers, and the
 * client's headers that headers.yaml names for this subgraph (not signed:
 * hints, never credentials; see gateway/src/headers/). Answer headers it
 * names are collected in the context for the client's response.
 */
// @ts-expect-error -- `sendRequest` is private in @apollo/gateway's typings; replacing it is deliberate (above). If a new
// version renames it, this directive becomes unused and type-checking fails here, before every call goes out unsigned.
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly options: SubgraphDataSourceOptions;

  constructor(url: string, options: SubgraphDataSourceOptions) {
    super({ url });
    this.options = options;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // A fetch made for a client's query operation is a query too. Fetches of a mutation operation (its
    // root fields and the entity fetches after them) and of subscription events are never shared or retried.
    if (
      'incomingRequestContext' in options &&
      options.incomingRequestContext.operation?.operation === OperationTypeNode.QUERY &&
      options.request.http
    ) {
      (options.request.http as MarkedHttp)[QUERY_FETCH] = true;
    }
    const incoming =
      'incomingRequestContext' in options ? options.incomingRequestContext.request.http?.headers : undefined;
    if (this.options.headerRules && incoming && options.request.http) {
      const propagated = this.options.headerRules.forSubgraph(this.options.name, incoming);
      if (Object.keys(propagated).length > 0) (options.request.http as MarkedHttp)[PROPAGATED] = propagated;
    }
  }

  override didReceiveResponse({
    response,
    context,
  }: Required<Pick<GraphQLDataSourceProcessOptions<GatewayContext>, 'context'>> & {
    response: GatewayGraphQLResponse;
  }): GatewayGraphQLResponse {
    const passedBack = this.options.headerRules?.passedBack;
    if (passedBack?.size && response.http) {
      for (const name of passedBack) {
        const value = response.http.headers.get(name);
        if (value !== null && value !== undefined) {
          const collected = ((context as GatewayContext).answerHeaders ??= new Map());
          if (!collected.has(name)) collected.set(name, value);
        }
      }
    }
    return response;
  }

  override async sendRequest(
    request: GatewayGraphQLRequest,
    context: Partial<GatewayContext> | undefined,
  ): Promise<GatewayGraphQLResponse> {
    const { entityCache } = this.options;
    const marked: MarkedHttp | undefined = request.http;
    if (entityCache && marked?.[QUERY_FETCH] === true && entityCache.handles(request)) {
      const propagated = marked[PROPAGATED];
      return entityCache.fetch({
        subgraph: this.options.name,
        request,
        // Public answers only are kept, so the role (what a role may see) and the propagated headers are all that differ.
        caller: `${context?.identity?.role ?? 'anonymous'}\n${propagated ? JSON.stringify(propagated) : ''}`,
        send: (rest) => this.send(rest, context),
      });
    }
    return this.send(request, context);
  }

  /** The fetch itself: signed, shared with identical ones in flight (SUBGRAPH_DEDUP), parsed. */
  private async send(
    request: GatewayGraphQLRequest,
    context: Partial<GatewayContext> | undefined,
  ): Promise<GatewayGraphQLResponse> {
    const { name, fetchDedup } = this.options;
    const client = this.options.client();
    // The same fields, in the same order, as the stock data source sends.
    const body = JSON.stringify({
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      extensions: request.extensions,
    });
    const identity = context?.identity ?? null;
    const marked: MarkedHttp | undefined = request.http;
    const query = marked?.[QUERY_FETCH] === true;
    const propagated = marked?.[PROPAGATED];
    const traceparent = (request as TracedRequest)[TRACEPARENT];
    let exchange: Exchange;
    try {
      exchange =
        query && fetchDedup
          ? // Shared only between callers with the same identity, so one user's answer never reaches
            // another: the subgraph's answer depends on the body and the identity alone. Each caller's
            // request would carry its own timestamp, nonce and request id; the shared one carries the
            // first caller's, which is equally valid because the identity it signs is the same.
            // Propagated headers may change the answer (a locale): they are part of the key.
            await fetchDedup.run(
              `${identity ? `${identity.role}:${identity.userId}` : '-'}\n${propagated ? JSON.stringify(propagated) : ''}\n${body}`,
              () => client.send(body, () => this.headers(body, context, propagated, traceparent), true),
            )
          : await client.send(body, () => this.headers(body, context, propagated, traceparent), query);
    } catch (error) {
      throw subgraphError(name, error);
    }
    return this.toResponse(exchange);
  }

  private headers(
    body: string,
    context: Partial<GatewayContext> | undefined,
    propagated: Record<string, string> | undefined,
    traceparent: string | undefined,
  ): Record<string, string> {
    // Propagated first: nothing of the client's can replace a header the gateway sets (the rules refuse those anyway).
    const headers = { ...propagated, ...signSubgraphRequest(this.options.secret, body, context?.identity ?? null) };
    headers['content-type'] = 'application/json';
    if (context?.requestId) headers['x-request-id'] = context.requestId;
    // The fetch span's context (gateway/src/tracing/); nothing when tracing is off.
    if (traceparent) headers.traceparent = traceparent;
    return headers;
  }

  /** Each caller parses its own copy: the gateway merges entities into what it gets, in place. */
  private toResponse(exchange: Exchange): GatewayGraphQLResponse {
    const { name } = this.options;
    if (exchange.status < 200 || exchange.status >= 300) throw badResponse(name, `answered HTTP ${exchange.status}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(exchange.text);
    } catch {
      throw badResponse(name, 'answered with a body that is not JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw badResponse(name, 'answered with a body that is not a GraphQL response');
    const response = parsed as GatewayGraphQLResponse & { http?: unknown };
    response.http = { status: exchange.status, headers: new ReceivedHeaders(exchange.headers) };
    return response;
  }
}
