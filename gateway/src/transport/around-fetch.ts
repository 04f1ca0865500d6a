import type { GraphQLDataSource } from '@apollo/gateway';

type Process = GraphQLDataSource['process'];

/**
 * `dataSource` with `around` wrapped about each of its fetches, for the parts
 * that observe fetches (the access log counts them, tracing spans them). The
 * result inherits from `dataSource` (Object.create), so whatever else it
 * offers (the transport's own methods) stays reachable through every layer.
 */
export function aroundFetch<T extends GraphQLDataSource>(
  dataSource: T,
  around: (fetch: () => ReturnType<Process>, options: Parameters<Process>[0]) => ReturnType<Process>,
): T {
  const wrapped = Object.create(dataSource) as T;
  wrapped.process = (options) => around(() => dataSource.process(options), options);
  return wrapped;
}
