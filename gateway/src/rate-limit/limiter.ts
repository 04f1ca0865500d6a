import { createHmac } from 'node:crypto';
import {
  Kind,
  valueFromASTUntyped,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { audit, auditSampler, type Logger } from '@storefront/platform/logger';
import type { Identity } from '@storefront/platform/auth';
import type { KeyValueStore } from '@storefront/platform/store';
import type { LimitRule, RateLimitConfig } from './config.ts';
import { createTokenLeases, type TokenLeases } from './leases.ts';
import type { RootFieldRoutes } from './routes.ts';

/**
 * Decides whether an operation may run, by taking tokens from its buckets:
 * one per route (each subgraph owning one of its root fields) and one per use
 * of a limited root field, so aliasing `logIn` ten times in one request
 * spends ten tokens. Buckets are keyed by the caller: the user id when signed
 * in, else the client address; field rules may key by an argument instead or
 * as well (`logIn` by address and email), hashed so no email sits in Redis.
 */
export interface Caller {
  identity: Identity | null;
  clientIp: string;
}

export interface Refusal {
  retryAfterSeconds: number;
  /** The rule that refused, e.g. `routes.orders`. */
  rule: string;
}

interface Take {
  key: string;
  rule: LimitRule;
  cost: number;
}

export interface RateLimiter {
  check(
    operation: OperationDefinitionNode,
    fragments: Map<string, FragmentDefinitionNode>,
    variables: Record<string, unknown> | undefined,
    caller: Caller,
  ): Promise<Refusal | undefined>;
}

export function createRateLimiter(options: {
  config: RateLimitConfig;
  routes: RootFieldRoutes;
  store: KeyValueStore;
  /** Keys the hash of argument values, so bucket names do not reveal them. */
  keySecret: string;
  logger: Logger;
}): RateLimiter {
  const { config, routes, logger } = options;
  // Leased a few at a time from the shared buckets (leases.ts): most requests ask Redis nothing.
  const leases = createTokenLeases(options.store);
  const hashArg = (value: string) =>
    createHmac('sha256', options.keySecret).update(value).digest('base64url').slice(0, 22);
  const shouldAudit = auditSampler();

  const keyFor = (rule: LimitRule, caller: Caller, field?: FieldNode, variables?: Record<string, unknown>) =>
    rule.by
      .map((part) => {
        if (part.kind === 'ip') return `ip=${caller.clientIp}`;
        if (part.kind === 'client') return caller.identity ? `user=${caller.identity.userId}` : `ip=${caller.clientIp}`;
        const node = field?.arguments?.find((a) => a.name.value === part.name);
        const value = node ? valueFromASTUntyped(node.value, variables) : undefined;
        // Case and surrounding spaces do not make a new account (the users service folds them too).
        const text = typeof value === 'string' ? value.trim().toLowerCase() : JSON.stringify(value ?? null);
        return `${part.name}=${hashArg(text)}`;
      })
      .join('&');

  return {
    async check(operation, fragments, variables, caller) {
      if (!config.enabled) return undefined;
      const rootType = routes.rootTypes[operation.operation];
      const fields = collectRootFields(operation.selectionSet, fragments);
      const takes = new Map<string, Take>();
      const add = (key: string, rule: LimitRule, cost = 1) => {
        const existing = takes.get(key);
        if (existing) existing.cost += cost;
        else takes.set(key, { key, rule, cost });
      };

      const routeNames = new Set<string>();
      for (const field of fields) {
        const coordinate = `${rootType}.${field.name.value}`;
        for (const owner of routes.owners.get(coordinate) ?? []) routeNames.add(owner);
        (config.fields.get(coordinate) ?? []).forEach((rule, i) =>
          add(`rl:f:${coordinate}:${i}:${keyFor(rule, caller, field, variables)}`, rule),
        );
      }
      // Introspection alone touches no subgraph; it still costs the caller a token.
      if (routeNames.size === 0) routeNames.add('gateway');
      for (const route of routeNames) {
        const rule = config.routes.get(route) ?? config.defaultRoute;
        add(`rl:r:${route}:${keyFor(rule, caller)}`, rule);
      }

      const refusals: Refusal[] = [];
      await Promise.all(
        [...takes.values()].map(async ({ key, rule, cost }) => {
          const retryAfterMs = await take(leases, key, rule, cost, logger);
          if (retryAfterMs === undefined) return;
          refusals.push({ retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)), rule: rule.label });
          if (shouldAudit(key)) {
            audit(logger, 'rate_limited', {
              rule: rule.label,
              userId: caller.identity?.userId,
              ip: caller.clientIp,
              operation: operation.operation,
              retryAfterSeconds: Math.ceil(retryAfterMs / 1000),
            });
          }
        }),
      );
      if (refusals.length === 0) return undefined;
      return refusals.reduce((a, b) => (b.retryAfterSeconds > a.retryAfterSeconds ? b : a));
    },
  };
}

/** Milliseconds to wait when refused, undefined when allowed. A broken store lets the request through: limits must not become an outage. */
async function take(
  leases: TokenLeases,
  key: string,
  rule: LimitRule,
  cost: number,
  logger: Logger,
): Promise<number | undefined> {
  // More uses in one operation than the bucket can ever hold: refuse for a whole window.
  if (cost > rule.limit) return rule.windowMs;
  try {
    const result = await leases.take(key, { capacity: rule.limit, refillMs: rule.windowMs }, cost);
    return result.allowed ? undefined : result.retryAfterMs;
  } catch (error) {
    logger.error({ err: error, rule: rule.label }, 'rate limit check failed; letting the request through');
    return undefined;
  }
}

/**
 * The root fields an operation executes, through fragments, skipping
 * introspection (`__typename`, `__schema`). Fields with one response key
 * merge into one execution, so they count once; each fragment is expanded
 * once, so nested fragment spreads cannot blow the walk up.
 */
export function collectRootFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): FieldNode[] {
  const byResponseKey = new Map<string, FieldNode>();
  const expanded = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (!selection.name.value.startsWith('__') && !byResponseKey.has(key)) byResponseKey.set(key, selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!expanded.has(selection.name.value)) {
        expanded.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(selectionSet);
  return [...byResponseKey.values()];
}
