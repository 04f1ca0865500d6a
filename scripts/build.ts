/**
 * `npm run build`: compiles each service's entry point to one ES module for
 * production, so a service starts with plain `node` instead of a TypeScript
 * loader (no transpiling at start, no loader hooks on every import).
 *
 *   gateway/src/main.ts             → gateway/dist/main.js
 *   subgraphs/<name>/src/main.ts    → subgraphs/<name>/dist/main.js
 *   scripts/start.ts                → dist/start.js     (the launcher, `npm run start:prod`)
 *   scripts/deploy/migrate.ts       → dist/migrate.js   (the image's `migrate` task)
 *   scripts/seed.ts                 → dist/seed.js      (the image's `seed` task)
 *   gateway/graphiql/app.ts         → gateway/graphiql/dist/ (GraphiQL, for GRAPHIQL=true)
 *
 * Our own code (the @storefront/* workspaces, the generated Prisma clients)
 * is bundled in; every third-party package stays an import of node_modules,
 * resolved from the bundle's folder as Node always does.
 *
 * Files read at run time (schema.graphql, migrations, rate-limits.yaml) are
 * found from `import.meta.url`, which in a bundle would be the bundle's own
 * URL. Each module's `import.meta.url` is therefore rewritten to the URL its
 * source file has next to the bundle, so those paths keep resolving from the
 * source tree, which ships with the bundle (the image copies the repository).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { ensureGraphiQLBundle } from '@storefront/gateway/graphiql';

const root = fileURLToPath(new URL('../', import.meta.url));
const SUBGRAPHS = ['users', 'products', 'orders', 'notifications'] as const;

export interface EntryPoint {
  /** The TypeScript entry, relative to the repository root. */
  source: string;
  /** The compiled module `node` runs, relative to the repository root. */
  output: string;
}

export const ENTRY_POINTS: EntryPoint[] = [
  { source: 'gateway/src/main.ts', output: 'gateway/dist/main.js' },
  ...SUBGRAPHS.map((name) => ({ source: `subgraphs/${name}/src/main.ts`, output: `subgraphs/${name}/dist/main.js` })),
  { source: 'scripts/start.ts', output: 'dist/start.js' },
  { source: 'scripts/deploy/migrate.ts', output: 'dist/migrate.js' },
  { source: 'scripts/seed.ts', output: 'dist/seed.js' },
];

const toPosix = (path: string) => path.split(sep).join('/');

/** Bare imports stay imports, except our workspaces, which are bundled. */
const thirdPartyExternal: Plugin = {
  name: 'third-party-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@storefront/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** `import.meta.url` of each bundled module → the URL of its source file, relative to the bundle. */
function sourceImportMetaUrl(outputFile: string): Plugin {
  const outputDir = dirname(outputFile);
  return {
    name: 'source-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = toPosix(relative(outputDir, args.path));
        const sourceUrl = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return {
          contents: text.replace(/\bimport\.meta\.url\b/g, sourceUrl),
          loader: args.path.endsWith('.ts') ? 'ts' : 'js',
        };
      });
    },
  };
}

export async function buildAll(
  options: { entries?: EntryPoint[]; logLevel?: 'silent' | 'warning' | 'info' } = {},
): Promise<EntryPoint[]> {
  const entries = options.entries ?? ENTRY_POINTS;
  // One build per entry: each bundle is self-contained and gets its own import.meta.url mapping.
  await Promise.all(
    entries.map(async (entry) => {
      const outfile = join(root, entry.output);
      mkdirSync(dirname(outfile), { recursive: true });
      await build({
        entryPoints: [join(root, entry.source)],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: 'linked',
        // Maps are written but only read with NODE_OPTIONS=--enable-source-maps: reading them makes
        // every Error.stack costly, and the services create errors on hot paths (GraphQL errors).
        // Class names stay readable in logs and errors (SignedDataSource, CompositionError).
        keepNames: true,
        legalComments: 'none',
        logLevel: options.logLevel ?? 'warning',
        plugins: [thirdPartyExternal, sourceImportMetaUrl(outfile)],
      });
    }),
  );
  return entries;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const built = await buildAll();
  // The image prunes dev dependencies, GraphiQL's among them: its bundle is made now or never.
  await ensureGraphiQLBundle();
  process.stdout.write(`Built ${built.map((e) => e.output).join(', ')} in ${Date.now() - started} ms.\n`);
}
