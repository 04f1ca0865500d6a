import { context, SpanKind, trace } from '@opentelemetry/api';
import { failSpan, type ServiceTracing } from './tracing.ts';

/**
 * A CLIENT span per SQL statement a Prisma driver adapter sends (Prisma's
 * own queries and raw SQL alike, on PostgreSQL and PGlite), named
 * `<operation> <table>` as the database semantic conventions ask.
 *
 * Only statements inside a recorded span are traced: the outbox relay's
 * polls and other background statements would otherwise each start a trace
 * of their own. The statement text is sent with its literals blanked out;
 * parameter values never are.
 */
const TRACED = new Set<PropertyKey>(['queryRaw', 'executeRaw']);
const WRAPPED = new Set<PropertyKey>(['connect', 'connectToShadowDb', 'startTransaction']);

interface SqlQuery {
  sql: string;
}

export function traceStatements<T extends object>(target: T, tracing: ServiceTracing, namespace: string): T {
  if (!tracing.enabled) return target;
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      if (TRACED.has(property)) {
        return (query: SqlQuery, ...rest: unknown[]) => {
          const parent = trace.getSpan(context.active());
          if (!parent?.isRecording()) return (value as (...a: unknown[]) => unknown).apply(object, [query, ...rest]);
          const sql = typeof query?.sql === 'string' ? query.sql : '';
          const { operation, table } = describe(sql);
          const span = tracing.tracer.startSpan(table ? `${operation} ${table}` : operation, {
            kind: SpanKind.CLIENT,
            attributes: {
              'db.system.name': 'postgresql',
              'db.namespace': namespace,
              'db.operation.name': operation,
              ...(table ? { 'db.collection.name': table } : {}),
              'db.query.text': blankLiterals(sql),
            },
          });
          return Promise.resolve(
            context.with(trace.setSpan(context.active(), span), () =>
              (value as (...a: unknown[]) => Promise<unknown>).apply(object, [query, ...rest]),
            ),
          ).then(
            (result) => (span.end(), result),
            (error: unknown) => {
              failSpan(span, error);
              span.end();
              throw error;
            },
          );
        };
      }
      if (WRAPPED.has(property)) {
        return async (...args: unknown[]) =>
          traceStatements(
            await (value as (...a: unknown[]) => Promise<object>).apply(object, args),
            tracing,
            namespace,
          );
      }
      // Bound to the real object: adapters keep state in #private fields a proxy cannot reach.
      return (value as (...a: unknown[]) => unknown).bind(object);
    },
  });
}

const TABLE = /\b(?:from|into|update|join)\s+((?:"[^"]+"|[a-z_][\w$]*)(?:\.(?:"[^"]+"|[a-z_][\w$]*))?)/i;

/** The statement's operation (its first keyword) and first table, unquoted and without schema. */
export function describe(sql: string): { operation: string; table: string | undefined } {
  const operation = (/^\s*([a-z]+)/i.exec(sql)?.[1] ?? 'SQL').toUpperCase();
  const qualified = TABLE.exec(sql)?.[1];
  const table = qualified?.split('.').pop()?.replaceAll('"', '');
  return { operation, table: table && table.length <= 63 ? table : undefined };
}

/** String and number literals become `?`: statements are parameterised, but a literal must never leak a value. */
export function blankLiterals(sql: string): string {
  const text = sql.replace(/'(?:[^']|'')*'/g, '?').replace(/(?<![\w$])\d+(?:\.\d+)?\b/g, '?');
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}
