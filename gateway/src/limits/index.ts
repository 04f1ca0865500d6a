import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ValidationRule } from 'graphql';
import type { OperationLimitsConfig } from './config.ts';
import { costLimitPlugin } from './cost-limit.ts';
import { maxAliasesRule } from './max-aliases.ts';
import { maxDepthRule } from './max-depth.ts';
import { maxDirectivesRule } from './max-directives.ts';
import { maxRootFieldsRule } from './max-root-fields.ts';

export { operationLimitsEnv, type OperationLimitsConfig } from './config.ts';
export { COST_LIMIT_EXCEEDED } from './cost-limit.ts';

/**
 * Everything the gateway refuses before planning an operation, as Apollo
 * Server options. What a client gets for each (HTTP status, `extensions.code`):
 *
 * | refused                                   | status | code                          | where |
 * |-------------------------------------------|--------|-------------------------------|-------|
 * | more than LIMIT_MAX_TOKENS tokens         | 400    | GRAPHQL_PARSE_FAILED          | parser (`parseOptions.maxTokens`) |
 * | deeper than LIMIT_MAX_DEPTH               | 400    | GRAPHQL_VALIDATION_FAILED, `extensions.limit: "depth"`      | max-depth.ts |
 * | more than LIMIT_MAX_ALIASES aliases       | 400    | GRAPHQL_VALIDATION_FAILED, `extensions.limit: "aliases"`    | max-aliases.ts |
 * | more than LIMIT_MAX_DIRECTIVES directives | 400    | GRAPHQL_VALIDATION_FAILED, `extensions.limit: "directives"` | max-directives.ts |
 * | more than LIMIT_MAX_ROOT_FIELDS root fields | 400  | GRAPHQL_VALIDATION_FAILED, `extensions.limit: "rootFields"` | max-root-fields.ts |
 * | cost above LIMIT_MAX_COST                 | 400    | COST_LIMIT_EXCEEDED (`extensions.cost`, `maxCost`)          | cost-limit.ts |
 * | APQ hash that is not the query's sha256   | 400    | PERSISTED_QUERY_HASH_MISMATCH | http/persisted-query-checks.ts |
 *
 * Apollo Server and the HTTP adapter refuse the rest: unknown APQ hash →
 * PERSISTED_QUERY_NOT_FOUND (200, the APQ protocol); body over MAX_BODY_BYTES →
 * 413 PAYLOAD_TOO_LARGE; a JSON array (batch), invalid JSON or a request
 * without a query → 400 BAD_REQUEST; a GET or simple-content-type POST without
 * `apollo-require-preflight`/`x-apollo-operation-name` (CSRF) → 400
 * BAD_REQUEST; introspection in production → 400 GRAPHQL_VALIDATION_FAILED.
 */
export function operationLimits(config: OperationLimitsConfig) {
  const validationRules: ValidationRule[] = [
    maxDepthRule(config.LIMIT_MAX_DEPTH),
    maxAliasesRule(config.LIMIT_MAX_ALIASES),
    maxDirectivesRule(config.LIMIT_MAX_DIRECTIVES),
    maxRootFieldsRule(config.LIMIT_MAX_ROOT_FIELDS),
  ];
  const plugins: ApolloServerPlugin<BaseContext>[] = [
    costLimitPlugin({ maxCost: config.LIMIT_MAX_COST, defaultListSize: config.LIMIT_DEFAULT_LIST_SIZE }),
  ];
  return {
    parseOptions: { maxTokens: config.LIMIT_MAX_TOKENS } satisfies ApolloServerOptions<BaseContext>['parseOptions'],
    validationRules,
    plugins,
  };
}
