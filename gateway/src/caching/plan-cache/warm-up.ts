import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import type { Experimental_DidResolveQueryPlanCallback } from '@apollo/gateway';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
import { Kind, OperationTypeNode, parse, type OperationDefinitionNode } from 'graphql';
import type { Logger } from '@storefront/platform/logger';
import type { GatewayContext } from '../../context.ts';
import { placeholderVariables } from './placeholder-variables.ts';
import { wrapExecutor } from '../../execution/index.ts';

/**
 * Plan-cache warm-up: before the gateway reports ready, every trusted
 * document is run through Apollo Server's own pipeline, so the first real
 * request of each finds its parsed, validated document and its query plan
 * cached. Going through the pipeline (`executeOperation`) rather than calling
 * the planner directly means both caches are filled under exactly the keys a
 * client's request will look up (Apollo Server keys documents by the query
 * hash; ApolloGateway keys plans by the query hash and the operation name as
 * sent), with no copy of that key logic here.
 *
 * A warm-up run never reaches a subgraph: its context carries a ticket;
 * ApolloGateway calls `didResolveQueryPlan` right after planning (and caching
 * the plan) and before executing it, and for a ticket that hook throws, which
 * ends the run there. Queries are warmed first; mutations only if every query
 * run was seen to stop at that hook, so a library change that stopped calling
 * it could not make a warm-up change data. Subscriptions are planned by the
 * subscription service (subscriptions/planner.ts), not here.
 *
 * The runs pass every plugin like any request: the rate limiter sees an
 * anonymous caller from an address of its own per start (`warm-up:<uuid>`),
 * so warm-ups neither spend real clients' buckets nor each other's.
 */
const TICKET = Symbol('storefront.plan-warm-up');

interface WarmUpTicket {
  /** The hook fired: the plan was made (or found) and execution was stopped. */
  planned: boolean;
  /** The executor returned on its own: refused before planning (variables) — or ran the plan. */
  returned: boolean;
}

class PlannedOnly extends Error {}

const ticketOf = (context: unknown): WarmUpTicket | undefined =>
  (context as Record<symbol, WarmUpTicket | undefined> | undefined)?.[TICKET];

/** True for the context of a warm-up run (e.g. a response cache must neither answer nor store it). */
export function isWarmUpContext(context: unknown): boolean {
  return ticketOf(context) !== undefined;
}

/** ApolloGateway's `experimental_didResolveQueryPlan`: ends a warm-up run once its plan is made. */
export const stopWarmUpAfterPlanning: Experimental_DidResolveQueryPlanCallback = ({ requestContext }) => {
  const ticket = ticketOf(requestContext.context);
  if (!ticket) return;
  ticket.planned = true;
  throw new PlannedOnly('warm-up: planned, not executed');
};

/** The gateway to hand Apollo Server: warm-up runs get placeholder variables, and their planned-only stop is not an error. */
export function admitWarmUps(gateway: GatewayInterface): GatewayInterface {
  return wrapExecutor(gateway, (execute) => async (requestContext) => {
    const ticket = ticketOf(requestContext.context);
    if (!ticket) return execute(requestContext);
    const variables = {
      ...placeholderVariables(requestContext.schema, requestContext.operation),
      ...requestContext.request.variables,
    };
    try {
      const result = await execute({ ...requestContext, request: { ...requestContext.request, variables } });
      ticket.returned = true;
      return result;
    } catch (error) {
      if (error instanceof PlannedOnly) return { data: null };
      throw error;
    }
  });
}

export interface WarmUpReport {
  documents: number;
  /** Runs that ended planned (one per operation name a client may send, and one without for single-operation documents). */
  planned: number;
  /** Subscription operations, not warmed here. */
  skipped: number;
  /** Runs that did not reach the planner (e.g. variables that could not be made up). */
  failed: number;
  ms: number;
}

interface Run {
  query: string;
  operationName?: string;
  kind: OperationDefinitionNode['operation'];
}

export async function warmUpPlans(options: {
  apollo: ApolloServer<GatewayContext>;
  documents: ReadonlyMap<string, string>;
  logger: Logger;
}): Promise<WarmUpReport> {
  const started = performance.now();
  const { runs, skipped, unparsable } = runsOf(options.documents);
  const caller = `warm-up:${randomUUID()}`;
  let planned = 0;
  let failed = unparsable;
  let stoppedAtHook = true;

  // Queries first: mutations only once every query has shown that runs stop after planning.
  const ordered = [
    ...runs.filter((run) => run.kind === OperationTypeNode.QUERY),
    ...runs.filter((run) => run.kind === OperationTypeNode.MUTATION),
  ];
  for (const run of ordered) {
    if (run.kind === OperationTypeNode.MUTATION && !stoppedAtHook) {
      failed++;
      continue;
    }
    const ticket: WarmUpTicket = { planned: false, returned: false };
    const contextValue = {
      identity: null,
      requestId: caller,
      clientIp: caller,
      logger: options.logger,
      [TICKET]: ticket,
    } as GatewayContext;
    const response = await options.apollo
      .executeOperation(
        { query: run.query, ...(run.operationName ? { operationName: run.operationName } : {}) },
        { contextValue },
      )
      .catch((error: unknown) => ({
        body: { kind: 'single' as const, singleResult: { data: undefined, errors: [{ message: String(error) }] } },
      }));
    if (ticket.planned) {
      planned++;
      continue;
    }
    failed++;
    // Returned with data means the executor went past planning without calling the hook: stop before any mutation.
    const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
    if (ticket.returned && result?.data !== undefined) stoppedAtHook = false;
    options.logger.debug(
      { operationName: run.operationName, errors: result?.errors },
      'warm-up: operation not planned',
    );
  }
  if (!stoppedAtHook)
    options.logger.error('warm-up: the gateway did not stop after planning; mutations were not warmed');

  const report: WarmUpReport = {
    documents: options.documents.size,
    planned,
    skipped,
    failed,
    ms: Math.round(performance.now() - started),
  };
  options.logger.info(report, 'query plans warmed up from the trusted documents');
  return report;
}

function runsOf(documents: ReadonlyMap<string, string>): { runs: Run[]; skipped: number; unparsable: number } {
  const runs: Run[] = [];
  let skipped = 0;
  let unparsable = 0;
  for (const text of documents.values()) {
    let operations: OperationDefinitionNode[];
    try {
      operations = parse(text).definitions.filter(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
      );
    } catch {
      unparsable++;
      continue;
    }
    for (const operation of operations) {
      if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
        skipped++;
        continue;
      }
      const name = operation.name?.value;
      // Clients send the operation name (Apollo Client always does) or, for a single operation, may leave it out.
      if (name) runs.push({ query: text, operationName: name, kind: operation.operation });
      if (operations.length === 1) runs.push({ query: text, kind: operation.operation });
    }
  }
  return { runs, skipped, unparsable };
}
