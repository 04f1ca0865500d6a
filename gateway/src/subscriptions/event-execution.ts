import type { Context } from '@opentelemetry/api';
import { executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GraphQLError, type FormattedExecutionResult } from 'graphql';
import type { Admission } from './admission.ts';
import { formatErrors, type FormatError } from './errors.ts';

/**
 * Turns one upstream event into the client's payload: the event stands in
 * for the response of the plan's primary fetch, and the rest of the plan
 * (entity fetches from other subgraphs) runs through ApolloGateway's own
 * `executeQueryPlan` and the gateway's own signed data sources, with the
 * subscriber's context. Identity signing, field rules, error paths and
 * result shaping are therefore those of a query.
 */
export type EventExecutor = (
  admission: Admission,
  event: FormattedExecutionResult,
  /** The push span's context (tracing/): the event's entity fetches are its children. */
  trace?: Context,
) => Promise<FormattedExecutionResult>;

export function createEventExecutor(options: {
  /** The data sources ApolloGateway built (buildService), by subgraph name. */
  dataSources: ReadonlyMap<string, GraphQLDataSource>;
  formatError: FormatError;
}): EventExecutor {
  const { dataSources, formatError } = options;
  // Against the supergraph the subscription was planned on: one opened before a reload keeps it (see index.ts).
  return async ({ plan, planner, requestContext, operationContext }, event, trace) => {
    const subgraph = plan.primary.serviceName;
    if (event.data === null || event.data === undefined) {
      // The subgraph refused or failed the subscription (FORBIDDEN, NOT_FOUND…): nothing to complete, only errors to pass on.
      const errors = (
        event.errors?.length ? event.errors : [{ message: `The ${subgraph} service sent an empty event` }]
      ).map(
        (e) => new GraphQLError(e.message, { path: e.path, extensions: { ...e.extensions, serviceName: subgraph } }),
      );
      return { errors: formatErrors(errors, formatError) };
    }

    const serviceMap: ServiceMap = Object.fromEntries(dataSources);
    // A copy per subscriber: executeQueryPlan merges entity fetches into the primary's response in place,
    // and subscribers that share an upstream event must never see each other's (identity-dependent) data.
    serviceMap[subgraph] = answerFirstFetchWith(structuredClone(event), dataSources.get(subgraph));
    const result = await executeQueryPlan(
      plan.eventPlan,
      serviceMap,
      {
        ...requestContext,
        // The subscriber's context, with this event's trace for the fetches (the rest is shared, as it was).
        ...(trace ? { context: { ...requestContext.context, trace } } : {}),
        metrics: {},
      },
      operationContext,
      planner.supergraphSchema,
      planner.apiSchema,
    );
    const payload: FormattedExecutionResult = { data: result.data ?? null };
    if (result.errors?.length) Object.assign(payload, { errors: formatErrors(result.errors, formatError) });
    // Null-propagation notes, as ApolloGateway returns them for queries.
    const valueCompletion = result.extensions?.valueCompletion as GraphQLError[] | undefined;
    if (valueCompletion?.length)
      Object.assign(payload, { extensions: { valueCompletion: valueCompletion.map((e) => e.toJSON()) } });
    return payload;
  };
}

/**
 * The primary's subgraph for one event: its first fetch is the primary (a
 * Sequence runs it first), answered with the event; any later fetch to the
 * same subgraph (an entity field it owns further down) goes to the real data source.
 */
function answerFirstFetchWith(event: FormattedExecutionResult, real: GraphQLDataSource | undefined): GraphQLDataSource {
  let answered = false;
  return {
    process(options) {
      if (!answered) {
        answered = true;
        return Promise.resolve(event as GatewayGraphQLResponse);
      }
      if (!real) return Promise.reject(new Error('No data source for the subscription subgraph'));
      return real.process(options);
    },
  };
}
