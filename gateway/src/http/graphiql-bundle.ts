import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * GraphiQL as static files, built from the `graphiql` npm package with
 * esbuild: the page loads nothing from a CDN, so it works with no internet.
 *
 * The bundle is generated, so it is not committed (about 5 MB of minified
 * Monaco editor, and a diff on every GraphiQL upgrade). It is built by the
 * root `postinstall` (`npm ci`), by `npm run build` (the Docker image), and by
 * the gateway at start when it is missing or stale: the key is the versions
 * of the packages it is made of plus the page's own source, so an upgrade or
 * an edit rebuilds it once, and every later start reuses it. Builds go to a
 * folder named by their key, swapped in with a rename, so gateways starting
 * at the same time never read a half-written bundle.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = join(ROOT, 'gateway/graphiql/app.ts');
/** Where bundles are kept (ignored by git like every dist/). */
export const GRAPHIQL_DIST = join(ROOT, 'gateway/graphiql/dist');
/** Raise when the esbuild options below change: old bundles are then stale. */
const BUILD_FORMAT = 1;
const PACKAGES = [
  'graphiql',
  '@graphiql/react',
  '@graphiql/toolkit',
  'monaco-editor',
  'monaco-graphql',
  'react',
  'react-dom',
];

export interface GraphiQLBundle {
  /** Folder holding the files below. */
  dir: string;
  /** File names (content-hashed, so they may be cached for ever). */
  script: string;
  stylesheet: string;
  workers: { editor: string; json: string; graphql: string };
}

interface Manifest extends Omit<GraphiQLBundle, 'dir'> {
  key: string;
  folder: string;
}

/** The key of what the installed packages and the page's source would build; undefined when GraphiQL is not installed. */
function currentKey(): string | undefined {
  const hash = createHash('sha256').update(`format ${BUILD_FORMAT}\n`);
  for (const name of PACKAGES) {
    const manifest = join(ROOT, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return undefined;
    hash.update(`${name}@${(JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version}\n`);
  }
  return hash.update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
}

function readManifest(): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(GRAPHIQL_DIST, 'current.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

const toBundle = (manifest: Manifest): GraphiQLBundle => {
  const { key: _key, folder, ...files } = manifest;
  return { dir: join(GRAPHIQL_DIST, folder), ...files };
};

/**
 * The bundle, built first when missing or stale. Where the packages are not
 * installed (a production image after `npm prune --omit=dev`) the bundle that
 * `npm run build` left is used as it is.
 */
export async function ensureGraphiQLBundle(log?: (message: string) => void): Promise<GraphiQLBundle> {
  const manifest = readManifest();
  const key = currentKey();
  if (manifest && (key === undefined || manifest.key === key) && existsSync(join(GRAPHIQL_DIST, manifest.folder)))
    return toBundle(manifest);
  if (key === undefined) {
    throw new Error(
      'GRAPHIQL: the GraphiQL bundle is missing and the graphiql package is not installed; run `npm run build` with the dev dependencies installed, or set GRAPHIQL=false',
    );
  }
  log?.('building the GraphiQL bundle (once per GraphiQL version)');
  return buildGraphiQLBundle();
}

/** Builds the bundle for the installed packages and makes it the current one. */
export async function buildGraphiQLBundle(): Promise<GraphiQLBundle> {
  const key = currentKey();
  if (key === undefined) throw new Error('GraphiQL is not installed (npm ci installs it as a dev dependency)');
  // esbuild is a dev dependency: loaded only when there is something to build.
  const { build } = await import('esbuild');
  const folder = `graphiql-${key}`;
  const staging = join(GRAPHIQL_DIST, `${folder}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging, { recursive: true });
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    outdir: staging,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'error',
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.ttf': 'file' },
  } as const;
  try {
    // Workers are classic scripts (iife): every browser can start them from a URL.
    const [page, workers] = await Promise.all([
      build({ ...common, entryPoints: { graphiql: SOURCE }, format: 'esm', target: 'es2022' }),
      build({
        ...common,
        entryPoints: {
          'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
          'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
          'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
        },
        format: 'iife',
        target: 'es2022',
      }),
    ]);
    const outputs = { ...page.metafile.outputs, ...workers.metafile.outputs };
    const named = (entry: string, extension: string) => {
      const file = Object.keys(outputs).find(
        (path) => path.endsWith(extension) && path.split('/').pop()!.startsWith(`${entry}-`),
      );
      if (!file) throw new Error(`GraphiQL build: no ${entry}${extension} among the outputs`);
      return file.split('/').pop()!;
    };
    const manifest: Manifest = {
      key,
      folder,
      script: named('graphiql', '.js'),
      stylesheet: named('graphiql', '.css'),
      workers: {
        editor: named('editor.worker', '.js'),
        json: named('json.worker', '.js'),
        graphql: named('graphql.worker', '.js'),
      },
    };
    const target = join(GRAPHIQL_DIST, folder);
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staging, target);
    } catch {
      // Another process has just put the same build there.
    }
    const current = join(GRAPHIQL_DIST, `current.json.tmp-${process.pid}`);
    writeFileSync(current, JSON.stringify(manifest, null, 2));
    renameSync(current, join(GRAPHIQL_DIST, 'current.json'));
    // Older builds (and any staging folder a killed build left) are never read again.
    for (const entry of readdirSync(GRAPHIQL_DIST)) {
      if (entry.startsWith('graphiql-') && entry !== folder && !entry.includes('.tmp-'))
        rmSync(join(GRAPHIQL_DIST, entry), { recursive: true, force: true });
    }
    return toBundle(manifest);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
