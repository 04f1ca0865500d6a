import { buildOperationContext } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { getVariableValues, GraphQLError, OperationTypeNode } from 'graphql';
import type { GatewayContext } from '../context.ts';
import type { SubscriptionPlan, SubscriptionPlanner } from './planner.ts';
import { wrapExecutor } from '../execution/index.ts';

/**
 * Subscriptions enter through Apollo Server's request pipeline like any
 * operation: parsing, validation (with the server's validation rules) and
 * every plugin hook up to execution (operation limits, rate limits, logging)
 * apply to them exactly as to queries. Only at execution do they leave it:
 * ApolloGateway's executor cannot run them, so the wrapped executor checks
 * the variables, plans the operation and hands it over on the ticket that
 * the socket server put in the context. The stream itself is then served
 * outside the pipeline (federated-stream.ts).
 */
type OperationContext = ReturnType<typeof buildOperationContext>;

export interface Admission {
  requestContext: GatewayGraphQLRequestContext<GatewayContext>;
  operationContext: OperationContext;
  plan: SubscriptionPlan;
  /** The planner (of the supergraph) that made `plan`: its events are completed against that supergraph. */
  planner: SubscriptionPlanner;
}

/** Filled by the executor when the pipeline admits the subscription. */
export interface AdmissionTicket {
  admitted?: Admission;
}

// A symbol, so the ticket survives Apollo Server's shallow copy of the context but no JSON or log line shows it.
const TICKET = Symbol('storefront.subscription-ticket');

/** Adds a fresh ticket to a context about to be run through the pipeline. */
export function attachTicket(context: GatewayContext): AdmissionTicket {
  const ticket: AdmissionTicket = {};
  Object.defineProperty(context, TICKET, { value: ticket, enumerable: true });
  return ticket;
}

/** `planner` gives the current supergraph's planner (it changes when the supergraph is reloaded). */
/** Whether this context came through a subscription transport (socket, SSE, multipart), which can stream its answer. */
export function canStream(context: unknown): boolean {
  return (context as Record<symbol, AdmissionTicket | undefined> | undefined)?.[TICKET] !== undefined;
}

export function admittingSubscriptions(
  gateway: GatewayInterface,
  planner: () => SubscriptionPlanner,
): GatewayInterface {
  return wrapExecutor(
    gateway,
    (execute) => async (requestContext) =>
      requestContext.operation?.operation === OperationTypeNode.SUBSCRIPTION
        ? admit(requestContext as GatewayGraphQLRequestContext<GatewayContext>, planner())
        : execute(requestContext),
  );
}

async function admit(requestContext: GatewayGraphQLRequestContext<GatewayContext>, planner: SubscriptionPlanner) {
  const ticket = (requestContext.context as unknown as Record<symbol, AdmissionTicket | undefined>)[TICKET];
  if (!ticket) {
    return {
      errors: [
        new GraphQLError(
          'Subscriptions are served at this URL over WebSocket (graphql-transport-ws), Server-Sent Events (Accept: text/event-stream) or multipart HTTP (Accept: multipart/mixed;subscriptionSpec=1.0)',
          {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          },
        ),
      ],
    };
  }
  const { request, document, schema } = requestContext;
  const operationContext = buildOperationContext({
    schema,
    operationDocument: document,
    operationName: request.operationName,
  });
  // As ApolloGateway does for queries; Apollo Server reports these as BAD_USER_INPUT.
  const coerced = getVariableValues(
    schema,
    operationContext.operation.variableDefinitions ?? [],
    request.variables ?? {},
  );
  if (coerced.errors) return { errors: coerced.errors };
  let plan: SubscriptionPlan;
  try {
    plan = planner.plan(document, request.operationName ?? null, requestContext.queryHash);
  } catch (error) {
    requestContext.logger.error(`cannot plan subscription: ${(error as Error).message}`);
    return {
      errors: [
        error instanceof GraphQLError
          ? error
          : new GraphQLError('This subscription cannot be planned', { originalError: error as Error }),
      ],
    };
  }
  ticket.admitted = { requestContext, operationContext, plan, planner };
  return {};
}
