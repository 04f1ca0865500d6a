import { ConfigError } from '@storefront/platform/config';

/**
 * The instances of one subgraph, from `SUBGRAPH_URL_<NAME>`:
 *
 *   SUBGRAPH_URL_PRODUCTS="http://products-a:4002/graphql"
 *   SUBGRAPH_URL_PRODUCTS="http://products-a:4002/graphql, http://products-b:4002/graphql"
 *   SUBGRAPH_URL_PRODUCTS="http://products-a:4002/graphql weight=3, http://products-b:4002/graphql"
 *
 * Entries are separated by commas; after each URL come optional `option=value`
 * words (today only `weight`, a whole number ≥ 1, default 1). Weights share
 * the traffic in proportion (3:1 above). The supergraph names the first URL;
 * queries, mutations and upstream subscriptions are balanced over all of them.
 */
export interface SubgraphInstance {
  /** As written, e.g. `http://products-a:4002/graphql`: what logs and metrics name. */
  url: string;
  weight: number;
}

export const MAX_WEIGHT = 1_000;

/** The env key a subgraph's URLs come from, for error messages. */
export const urlKey = (subgraph: string): string => `SUBGRAPH_URL_${subgraph.toUpperCase()}`;

/** Parses one `SUBGRAPH_URL_<NAME>` value; a problem throws a ConfigError naming `key`. */
export function parseInstances(key: string, value: string): SubgraphInstance[] {
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) fail(key, 'an empty entry (a stray comma?)');
  const seen = new Set<string>();
  return entries.map((entry) => {
    const [url, ...options] = entry.split(/\s+/) as [string, ...string[]];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail(key, `"${url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      fail(key, `"${url}" must be an http:// or https:// URL`);
    if (seen.has(parsed.href)) fail(key, `"${url}" is listed twice`);
    seen.add(parsed.href);
    let weight = 1;
    for (const option of options) {
      const [name, raw] = option.split('=', 2);
      if (name !== 'weight' || raw === undefined)
        fail(key, `unknown option "${option}" after "${url}" (allowed: weight=<1..${MAX_WEIGHT}>)`);
      weight = Number(raw);
      if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
        fail(key, `weight of "${url}" must be a whole number from 1 to ${MAX_WEIGHT}, got "${raw}"`);
      }
    }
    return { url, weight };
  });
}

/** Checks every `SUBGRAPH_URL_<NAME>` of a config at load time, so a typo stops the start with its key. */
export function validateSubgraphUrls(urls: Record<string, string>): void {
  for (const [name, value] of Object.entries(urls)) parseInstances(urlKey(name), value);
}

function fail(key: string, problem: string): never {
  throw new ConfigError([`${key}: ${problem}`]);
}
