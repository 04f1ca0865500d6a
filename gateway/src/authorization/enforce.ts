import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  buildASTSchema,
  execute as executeDocument,
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
  parse,
  printSchema,
} from 'graphql';
import type { Identity } from '@storefront/platform/auth';
import { ForbiddenError, UnauthenticatedError } from '@storefront/platform/errors';
import { audit, type Logger } from '@storefront/platform/logger';
import { isWarmUpContext } from '../caching/index.ts';
import type { GatewayContext } from '../context.ts';
import { wrapExecutor } from '../execution/index.ts';
import { canStream } from '../subscriptions/index.ts';
import { deniedFields, withoutDenied, type Caller, type Denial } from './analysis.ts';
import { readRequirements, type Requirements } from './requirements.ts';
import { callerOf } from './scopes.ts';

/**
 * `@authenticated` and `@requiresScopes` enforced at the gateway, a second
 * line in front of each service's own field rules: a field the caller may
 * not see is never asked of a subgraph.
 *
 * As Apollo Router and Hive Gateway do by default, refused fields are
 * filtered, not the whole operation: the subgraphs are asked the operation
 * without them, and the answer is shaped back to the client's document with
 * `null` and an error (UNAUTHENTICATED for an anonymous caller, FORBIDDEN for
 * missing scopes) at each refused field — the nulls propagating past
 * non-null fields exactly as GraphQL execution does, so a client sees what it
 * saw when the service refused the field itself. The shaping re-executes the
 * client's document over the gateway's answer with graphql-js, which does the
 * aliases, fragments, `@skip`/`@include` and null propagation. A subscription
 * with a refused field is refused whole: its events are not shaped one by one.
 *
 * The common case costs one walk of the document per document and caller
 * kind (cached); only operations with a refused field pay for the rest.
 */
export interface DirectiveAuthorization {
  admit(gateway: GatewayInterface): GatewayInterface;
}

/** What a schema load gives the enforcement. */
interface Loaded {
  requirements: Requirements;
  /**
   * The API schema again, without resolvers: Apollo Server wraps every field
   * of the one it serves with its plugins' hooks and the default resolver,
   * which would read answers by field name instead of by response key.
   */
  shapingSchema: GraphQLSchema;
}

interface Analysis {
  denied: Map<FieldNode, Denial>;
  /** The document the subgraphs are asked instead, made on first need. */
  shaped?: { document: DocumentNode; operation: OperationDefinitionNode; queryHash: string };
}

export function directiveAuthorization(options: { logger: Logger }): DirectiveAuthorization {
  const logger = options.logger.child({ component: 'authorization' });
  const loaded = new WeakMap<GraphQLSchema, Loaded>();
  let latest: Loaded | undefined;
  const analyses = new WeakMap<DocumentNode, Map<string, Analysis>>();

  const analysisOf = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    requirements: Requirements,
    caller: Caller & { key: string },
  ): Analysis => {
    let perCaller = analyses.get(document);
    if (!perCaller) analyses.set(document, (perCaller = new Map<string, Analysis>()));
    const key = `${operation.name?.value ?? ''}\n${caller.key}`;
    let analysis = perCaller.get(key);
    if (!analysis)
      perCaller.set(key, (analysis = { denied: deniedFields(schema, document, operation, requirements, caller) }));
    return analysis;
  };

  return {
    admit(gateway) {
      gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
        latest = {
          requirements: readRequirements(coreSupergraphSdl),
          shapingSchema: buildASTSchema(parse(printSchema(apiSchema))),
        };
        loaded.set(apiSchema, latest);
      });
      return wrapExecutor(gateway, (execute) => async (requestContext) => {
        const { document, operation, schema } = requestContext;
        const schemaLoad = loaded.get(schema) ?? latest;
        if (!operation || !schemaLoad || schemaLoad.requirements.empty || isWarmUpContext(requestContext.context))
          return execute(requestContext);
        const context = requestContext.context as Partial<GatewayContext>;
        const caller = callerOf(context.identity ?? null);
        const analysis = analysisOf(schema, document, operation, schemaLoad.requirements, caller);
        if (analysis.denied.size === 0) return execute(requestContext);

        auditForbidden(context.logger ?? logger, context.identity ?? null, requestContext, analysis.denied);
        if (operation.operation === OperationTypeNode.SUBSCRIPTION)
          // One sent where no stream can be served is told where to go first (subscriptions/admission.ts).
          return canStream(requestContext.context) ? { errors: refusals(analysis.denied) } : execute(requestContext);
        analysis.shaped ??= shapedDocument(
          schema,
          document,
          operation,
          analysis.denied,
          requestContext.queryHash,
          caller.key,
        );
        const answer = await execute({ ...requestContext, ...analysis.shaped });
        return shapeAnswer(schemaLoad.shapingSchema, requestContext, answer, analysis.denied);
      });
    },
  };
}

function shapedDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  denied: ReadonlyMap<FieldNode, Denial>,
  queryHash: string,
  callerKey: string,
): NonNullable<Analysis['shaped']> {
  const shaped = withoutDenied(schema, document, denied);
  const index = document.definitions.indexOf(operation);
  const shapedOperation = shaped.definitions[index];
  if (shapedOperation?.kind !== Kind.OPERATION_DEFINITION) throw new Error('shaped document lost its operation');
  // Plans are cached by query hash: the shaped document's must differ from the client's, per caller kind.
  return { document: shaped, operation: shapedOperation, queryHash: `${queryHash}:authorized-for:${callerKey}` };
}

/** The client's own document executed over the gateway's answer: refused fields null with their error, the rest as answered. */
async function shapeAnswer(
  shapingSchema: GraphQLSchema,
  requestContext: GatewayGraphQLRequestContext,
  answer: Awaited<ReturnType<GatewayExecutor>>,
  denied: ReadonlyMap<FieldNode, Denial>,
): Promise<Awaited<ReturnType<GatewayExecutor>>> {
  if (answer.data === null || answer.data === undefined) return answer;
  const resolveAnswered: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, _args, _context, info) => {
    const denial = info.fieldNodes.map((node) => denied.get(node)).find((d) => d !== undefined);
    if (denial) throw refusalError(denial);
    return source[info.path.key as string];
  };
  const shaped = await executeDocument({
    schema: shapingSchema,
    document: requestContext.document,
    rootValue: answer.data,
    variableValues: requestContext.request.variables ?? {},
    operationName: requestContext.request.operationName ?? null,
    fieldResolver: resolveAnswered,
  });
  const errors = [...(answer.errors ?? []), ...(shaped.errors ?? [])];
  return { ...answer, data: shaped.data ?? null, ...(errors.length > 0 ? { errors } : {}) };
}

const refusalError = (denial: Denial): GraphQLError =>
  denial.refusal === 'UNAUTHENTICATED' ? new UnauthenticatedError() : new ForbiddenError();

/** One error per distinct refused field, for an operation refused whole. */
function refusals(denied: ReadonlyMap<FieldNode, Denial>): GraphQLError[] {
  const byCoordinate = new Map([...denied.values()].map((denial) => [denial.coordinate, denial]));
  return [...byCoordinate.values()].map(refusalError);
}

/** As the services audit FORBIDDEN (service/audit-denials.ts): who asked for which fields, once per request. */
function auditForbidden(
  logger: Logger,
  identity: Identity | null,
  requestContext: GatewayGraphQLRequestContext,
  denied: ReadonlyMap<FieldNode, Denial>,
) {
  const forbidden = [...denied.values()].filter((d) => d.refusal === 'FORBIDDEN');
  if (forbidden.length === 0) return;
  audit(logger, 'access_denied', {
    service: 'gateway',
    userId: identity?.userId ?? null,
    role: identity?.role ?? null,
    operationName: requestContext.request.operationName ?? null,
    fields: [...new Set(forbidden.map((d) => d.coordinate))].slice(0, 10),
    count: forbidden.length,
  });
}
