import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan } from '@apollo/query-planner';
import { Kind, parse, print, stripIgnoredCharacters, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * Plans subscriptions with Apollo's own query planner. For a subscription it
 * returns `{ kind: 'Subscription', primary, rest? }`: `primary` is the owning
 * subgraph's subscription (its own fields plus the keys of other subgraphs'
 * entities), `rest` the entity fetches that complete each event. The gateway
 * runs `primary` as a long-lived upstream subscription and, per event, runs
 * `Sequence[primary, rest]` with the event standing in for the primary's
 * response (see event-execution.ts).
 *
 * ApolloGateway keeps its planner private, so this builds its own from the
 * same supergraph SDL; both are deterministic, so they plan alike.
 */
export interface SubscriptionPlan {
  /** The fetch the upstream subscription answers. */
  primary: FetchNode;
  /** Run per event: the primary (answered with the event), then the rest. */
  eventPlan: QueryPlan;
  /**
   * The primary's operation as sent upstream, without the planner's
   * operation name (derived from the client's), so identical selections from
   * differently named client operations can share one upstream subscription.
   */
  upstreamQuery: string;
}

export class SubscriptionPlanner {
  readonly apiSchema: Schema;
  readonly supergraphSchema: GraphQLSchema;
  private readonly planner: QueryPlanner;
  /** Least recently used first; plans are pure functions of the document, so caching them is safe. */
  private readonly cache = new Map<string, SubscriptionPlan>();

  constructor(
    supergraphSdl: string,
    private readonly cacheSize = 500,
  ) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.apiSchema = supergraph.apiSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(supergraph);
  }

  /** Throws a GraphQLError when the operation cannot be planned (the caller returns it to the client). */
  plan(document: DocumentNode, operationName: string | null, cacheKey: string): SubscriptionPlan {
    const key = `${cacheKey}:${operationName ?? ''}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const operation = operationFromDocument(this.apiSchema, document, operationName ? { operationName } : {});
    const node = this.planner.buildQueryPlan(operation).node;
    if (node?.kind !== 'Subscription')
      throw new Error(`Expected a subscription plan, got ${node?.kind ?? 'an empty plan'}`);
    const plan: SubscriptionPlan = {
      primary: node.primary,
      eventPlan: {
        kind: 'QueryPlan',
        node: node.rest ? { kind: 'Sequence', nodes: [node.primary, node.rest] } : node.primary,
      },
      upstreamQuery: anonymous(node.primary.operation),
    };
    this.cache.set(key, plan);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return plan;
  }
}

/** The variables the primary fetch uses, picked as executeQueryPlan picks them for any fetch. */
export function upstreamVariables(
  primary: FetchNode,
  variables: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of primary.variableUsages ?? []) {
    if (variables && Object.hasOwn(variables, name) && variables[name] !== undefined) picked[name] = variables[name];
  }
  return picked;
}

function anonymous(operation: string): string {
  const document = parse(operation);
  return stripIgnoredCharacters(
    print({
      ...document,
      definitions: document.definitions.map((d) =>
        d.kind === Kind.OPERATION_DEFINITION ? { ...d, name: undefined } : d,
      ),
    }),
  );
}
