/**
 * `npm run docs:config`: writes docs/configuration.md from the zod schemas
 * every process reads its environment with, so the reference cannot drift
 * from the code. Each key's description is its `.describe()`, its default is
 * what the schema yields for an unset variable, and its unit comes from the
 * name's suffix (`_MS`, `_SECONDS`, `_BYTES`, `_MB`). `--check` writes
 * nothing and fails when the file is stale (the test suite runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { gatewayConfigSchema, gatewayKeyPatterns } from '@storefront/gateway';
import { serviceConfigSchema } from '@storefront/platform/service';
import { notificationsConfigSchema } from '@storefront/notifications';
import { ordersConfigSchema } from '@storefront/orders';
import { productsConfigSchema } from '@storefront/products';
import { usersConfigSchema } from '@storefront/users';
import type { z } from 'zod';

const root = resolve(import.meta.dirname, '..');
const target = resolve(root, 'docs/configuration.md');

interface Section {
  title: string;
  /** Who reads these keys, for the index at the top. */
  readers: string[];
  intro: string;
  shape: Record<string, z.ZodType>;
  /** Keys already listed in another section for the same readers. */
  omit?: readonly string[];
  patterns?: readonly { key: string; description: string }[];
}

const shared = Object.keys(serviceConfigSchema.shape);
const subgraphs = ['users', 'products', 'orders', 'notifications'];

const sections: Section[] = [
  {
    title: 'Every subgraph service',
    readers: subgraphs,
    intro:
      'Read by each of users, products, orders and notifications (`packages/platform/src/service/service-config.ts`).',
    shape: serviceConfigSchema.shape,
  },
  {
    title: 'users',
    readers: ['users'],
    intro: 'Its own settings, besides those of every subgraph (`subgraphs/users/src/config.ts`).',
    shape: usersConfigSchema.shape,
    omit: shared,
  },
  {
    title: 'products',
    readers: ['products'],
    intro: 'Its own settings, besides those of every subgraph (`subgraphs/products/src/config.ts`).',
    shape: productsConfigSchema.shape,
    omit: shared,
  },
  {
    title: 'orders',
    readers: ['orders'],
    intro: 'Its own settings, besides those of every subgraph (`subgraphs/orders/src/config.ts`).',
    shape: ordersConfigSchema.shape,
    omit: shared,
  },
  {
    title: 'notifications',
    readers: ['notifications'],
    intro: 'Its own settings, besides those of every subgraph (`subgraphs/notifications/src/config.ts`).',
    shape: notificationsConfigSchema.shape,
    omit: shared,
  },
  {
    title: 'gateway',
    readers: ['gateway'],
    intro: 'Every setting of the gateway (`gateway/src/config.ts`, each room’s keys next to the code that reads them).',
    shape: gatewayConfigSchema.shape,
    patterns: gatewayKeyPatterns,
  },
];

const UNITS: [RegExp, string][] = [
  [/_MS$/, 'milliseconds'],
  [/_SECONDS$/, 'seconds'],
  [/_BYTES$/, 'bytes'],
  [/_MB$/, 'MiB'],
  [/_PER_SECOND$/, 'per second'],
];

const unitOf = (key: string) => UNITS.find(([pattern]) => pattern.test(key))?.[1] ?? '';

function defaultOf(key: string, field: z.ZodType): string {
  const parsed = field.safeParse(undefined);
  if (!parsed.success) return 'required';
  const value: unknown = parsed.data;
  if (value === undefined) return 'unset';
  if (value === '') return 'empty';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  if (typeof value === 'string') {
    // Paths next to the code are computed from its location: show them from the repository's root.
    // Only those inside it: '/metrics' is absolute too, but a URL path, and shown as it is.
    const inside = isAbsolute(value) && !relative(root, value).startsWith('..');
    const shown = inside ? relative(root, value) : value;
    return `\`${shown}\``;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `\`${String(value)}\``;
  throw new Error(`${key}: cannot show a default of type ${typeof value}`);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function table(section: Section): string[] {
  const rows = ['| variable | default | unit | what |', '|---|---|---|---|'];
  for (const [key, field] of Object.entries(section.shape)) {
    if (section.omit?.includes(key)) continue;
    if (!field.description) throw new Error(`${key} (${section.title}): no .describe() next to its schema`);
    rows.push(`| \`${key}\` | ${cell(defaultOf(key, field))} | ${unitOf(key)} | ${cell(field.description)} |`);
  }
  for (const pattern of section.patterns ?? []) {
    rows.push(`| \`${pattern.key}\` | unset | ${unitOf(pattern.key)} | ${cell(pattern.description)} |`);
  }
  return rows;
}

function render(): string {
  const readers = new Map<string, Set<string>>();
  for (const section of sections) {
    const keys = [
      ...Object.keys(section.shape).filter((key) => !section.omit?.includes(key)),
      ...(section.patterns ?? []).map((pattern) => pattern.key),
    ];
    for (const key of keys) {
      const set = readers.get(key) ?? new Set<string>();
      for (const reader of section.readers) set.add(reader);
      readers.set(key, set);
    }
  }
  const index = [...readers.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, by]) => `| \`${key}\` | ${by.size === 5 ? 'all' : [...by].join(', ')} |`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from the zod schemas; edit the `.describe()` next to a key, not this file. -->',
    '',
    'Every process reads its settings from the environment once, at start, and a bad value stops the start with',
    'a message naming the variable. An empty value counts as unset. `npm start` runs every service in one process,',
    'which then reads them all from the same environment; with `KAFKA_BROKERS` set it starts each service as its',
    'own process, which reads the same environment too.',
    '',
    '## Who reads what',
    '',
    '| variable | read by |',
    '|---|---|',
    ...index,
    '',
    ...sections.flatMap((section) => [`## ${section.title}`, '', section.intro, '', ...table(section), '']),
  ].join('\n');
}

const text = render();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    console.error('docs/configuration.md is stale; run `npm run docs:config`');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${relative(root, target)}`);
}
