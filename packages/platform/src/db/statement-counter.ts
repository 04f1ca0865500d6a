/**
 * Counts the SQL statements Prisma sends through a driver adapter. Cheap
 * enough to leave on: it is how tests prove that loading is batched (the
 * statement count of a query must not grow with the number of rows), and a
 * number operators can export as a metric.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface StatementCounter {
  /** Every statement. */
  count: number;
  /** Statements issued while serving GraphQL requests (not the outbox relay or consumers). */
  inRequests: number;
}

/** The statements of one request so far (the subgraph's metrics observe them when it is answered). */
export interface RequestStatements {
  count: number;
}

/** Marks work done on behalf of a GraphQL request; the subgraph server runs each request inside it. */
export const requestScope = new AsyncLocalStorage<RequestStatements>();

const COUNTED = new Set<PropertyKey>(['queryRaw', 'executeRaw']);
const WRAPPED = new Set<PropertyKey>(['connect', 'connectToShadowDb', 'startTransaction']);

export function countStatements<T extends object>(target: T, counter: StatementCounter): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      if (COUNTED.has(property)) {
        return (...args: unknown[]) => {
          counter.count++;
          const request = requestScope.getStore();
          if (request) {
            counter.inRequests++;
            request.count++;
          }
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      }
      if (WRAPPED.has(property)) {
        return async (...args: unknown[]) =>
          countStatements(await (value as (...a: unknown[]) => Promise<object>).apply(object, args), counter);
      }
      // Bound to the real object: adapters keep state in #private fields a proxy cannot reach.
      return (value as (...a: unknown[]) => unknown).bind(object);
    },
  });
}
