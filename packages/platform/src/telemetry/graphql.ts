import { SpanKind, trace } from '@opentelemetry/api';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { IMiddlewareFunction } from 'graphql-middleware';
import { inSpan, type ServiceTracing } from './tracing.ts';

/**
 * graphql-middleware for a subgraph's schema: a span per root field and per
 * `_entities` fetch (the gateway's entity resolution), not per scalar, with
 * the field's work (DataLoader batches, SQL) inside it. The request's server
 * span gets the operation's name and type.
 */
export function traceRootFields(tracing: ServiceTracing, schema: GraphQLSchema): Record<string, IMiddlewareFunction> {
  const traced: IMiddlewareFunction = async (resolve, parent, args, context, info: GraphQLResolveInfo) => {
    const request = trace.getActiveSpan();
    if (!request?.isRecording()) return (await resolve(parent, args, context, info)) as unknown;
    request.setAttribute('graphql.operation.type', info.operation.operation);
    if (info.operation.name) request.setAttribute('graphql.operation.name', info.operation.name.value.slice(0, 100));
    const attributes: Record<string, string | string[]> = {
      'graphql.field.name': info.fieldName,
      'graphql.field.type': String(info.returnType),
    };
    if (info.fieldName === '_entities') attributes['graphql.entity.types'] = entityTypes(args);
    return inSpan<unknown>(
      tracing,
      `${info.parentType.name}.${info.fieldName}`,
      { kind: SpanKind.INTERNAL, attributes },
      async () => (await resolve(parent, args, context, info)) as unknown,
    );
  };
  const roots = [schema.getQueryType(), schema.getMutationType()].filter((type) => type !== null && type !== undefined);
  return Object.fromEntries(roots.map((type) => [type.name, traced]));
}

/** The distinct `__typename`s an `_entities` call asks for (never the keys themselves). */
function entityTypes(args: unknown): string[] {
  const representations = (args as { representations?: unknown } | null)?.representations;
  if (!Array.isArray(representations)) return [];
  const names = new Set<string>();
  for (const representation of representations) {
    const name = (representation as { __typename?: unknown } | null)?.__typename;
    if (typeof name === 'string' && names.size < 10) names.add(name.slice(0, 100));
  }
  return [...names];
}
