/**
 * One subgraph service, built from its definition (schema, resolvers,
 * permissions, data, consumers): its config, its GraphQL server with
 * graphql-shield rules and the gateway's signature checked, its database,
 * outbox, consumers and live feed. The gateway does not need this; it takes
 * what every server needs from `/server`.
 */
export {
  startService,
  type Emit,
  type RunningService,
  type ServiceDefinition,
  type ServiceParts,
  type ServiceRuntime,
  type StartDependencies,
} from './service.ts';
export type { BaseContext } from './context.ts';
export { SEPARATE_PROCESSES_NEED_KAFKA, serviceConfigSchema, type ServiceConfig } from './service-config.ts';
export { buildProtectedSchema } from './subgraph.ts';
export { isAdmin, isAuthenticated, isPublic, isStaff, ownerOrStaff } from './rules.ts';
