import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { gatewayConfigSchema } from '@storefront/gateway';
import { notificationsConfigSchema } from '@storefront/notifications';
import { ordersConfigSchema } from '@storefront/orders';
import { productsConfigSchema } from '@storefront/products';
import { usersConfigSchema } from '@storefront/users';
import { parseSupergraphConfig } from '../../scripts/schema/lib/supergraph-config.ts';
import { ENTRY_POINTS } from '../../scripts/build.ts';

/**
 * What the deployment descriptions (docker-compose.yml, deploy/k8s) are
 * checked against: the services' own config schemas, supergraph.yaml and the
 * files the image runs.
 */
export const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const read = (path: string) => readFileSync(join(repo, path), 'utf8');

export type Part = 'gateway' | 'users' | 'products' | 'orders' | 'notifications';
export const SUBGRAPHS = ['users', 'products', 'orders', 'notifications'] as const;

export const configSchemas: Record<Part, z.ZodObject> = {
  gateway: gatewayConfigSchema,
  users: usersConfigSchema,
  products: productsConfigSchema,
  orders: ordersConfigSchema,
  notifications: notificationsConfigSchema,
};

/** The port variable of each part and its default, read from the schema itself. */
export const portKey = (part: Part) => `${part.toUpperCase()}_PORT`;
export function defaultPort(part: Part): number {
  const parsed = configSchemas[part].safeParse({});
  const value = parsed.success ? parsed.data[portKey(part)] : undefined;
  if (typeof value !== 'number') throw new Error(`${part}: ${portKey(part)} has no default in its config schema`);
  return value;
}

/** Each subgraph's routing URL in supergraph.yaml. */
export const routingUrls: Record<string, URL> = Object.fromEntries(
  parseSupergraphConfig(repo).subgraphs.map((s) => [s.name, new URL(s.routingUrl)]),
);

/** The one-off tasks of deploy/docker/entrypoint.sh; `seed` runs the users and products services. */
export const TASKS = ['migrate', 'seed'] as const;
export type Task = (typeof TASKS)[number];

/**
 * The entry file each part or task of the image runs, read from deploy/docker/entrypoint.sh.
 * The image runs compiled bundles (scripts/build.ts); each is given as the source it is built from.
 */
export function entryFiles(): Record<string, string[]> {
  const script = read('deploy/docker/entrypoint.sh');
  const sourceOf = (file: string) => {
    const built = ENTRY_POINTS.find((entry) => entry.output === file);
    if (file.endsWith('.js') && !built)
      throw new Error(`entrypoint.sh runs ${file}, which scripts/build.ts does not build`);
    return built ? built.source : file;
  };
  const files = (line: string, part: string) =>
    [...line.matchAll(/([\w./$"-]+\.[jt]s)\b/g)].map((m) => sourceOf(m[1]!.replace(/"/g, '').replace('$task', part)));
  const result: Record<string, string[]> = {};
  for (const line of script.split('\n')) {
    const match = /^\s*([\w |-]+)\)\s*(.*);;\s*$/.exec(line);
    if (!match) continue;
    for (const part of match[1]!.split('|').map((p) => p.trim())) result[part] = files(match[2]!, part);
  }
  return result;
}

/** Docker Compose variable interpolation, with the defaults it would use when nothing is set. */
export function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_all, _name: string, fallback?: string) => fallback ?? '',
  );
}

/**
 * Problems with one part's environment: keys its config schema does not
 * know (a typo is otherwise silently ignored) and values it would refuse.
 * Values given as undefined (from secrets) are only checked for the key.
 */
export function envProblems(parts: Part[], env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    const schemas = parts.map((p) => configSchemas[p]).filter((s) => key in s.shape);
    // The gateway reads SUBGRAPH_URL_<NAME> and SUBGRAPH_SECRET_<NAME> for the subgraphs of the supergraph.
    const perSubgraph = /^SUBGRAPH_(URL|SECRET)_([A-Z0-9_]+)$/.exec(key);
    if (parts.includes('gateway') && perSubgraph) {
      if (!(perSubgraph[2]!.toLowerCase() in routingUrls))
        problems.push(`${key}: no subgraph "${perSubgraph[2]!.toLowerCase()}" in supergraph.yaml`);
      continue;
    }
    if (schemas.length === 0) {
      problems.push(`${key}: not a setting of ${parts.join(' or ')} (not in its config schema)`);
      continue;
    }
    if (value === undefined) continue;
    for (const schema of schemas) {
      const field = schema.shape[key] as z.ZodType;
      const parsed = field.safeParse(value);
      if (!parsed.success) problems.push(`${key}=${value}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  return problems;
}

/** Minimal .dockerignore matching (`*`, `**`, leading `!`), enough to assert what reaches the image. */
export function dockerIgnored(path: string, patterns: string[] = read('.dockerignore').split('\n')): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('/')
        .map((segment) =>
          segment === '**'
            ? '(?:.*)'
            : segment
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')}(?:/.*)?$`,
    );
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}
