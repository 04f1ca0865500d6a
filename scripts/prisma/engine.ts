// Loads Prisma's wasm schema engine (@prisma/schema-engine-wasm, same version as the
// prisma CLI's engines) and runs it against in-memory PGlite databases. This replaces the
// native schema engine, which the CLI cannot download on machines without internet.
import { readFile } from 'node:fs/promises';
import type { Extension } from '@electric-sql/pglite';
import type { DiffTarget, MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { createPgliteAdapterFactory, type PgliteAdapterFactory } from './pglite-adapter.ts';

// The project's TS lib (ES2023, no DOM) has no WebAssembly typings; Node has the global.
const webAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

let loaded: Promise<typeof bindings.SchemaEngine> | undefined;

/**
 * The package's entry does `import * as wasm from './schema_engine_bg.wasm'`, which Node 20
 * only supports behind --experimental-wasm-modules; instantiate the module by hand instead,
 * wiring its single import namespace to the generated JS glue.
 */
function loadSchemaEngineClass(): Promise<typeof bindings.SchemaEngine> {
  return (loaded ??= (async () => {
    const glueUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmBytes = await readFile(new URL(glueUrl.replace(/\.js$/, '.wasm')));
    const { instance } = await webAssembly.instantiate(wasmBytes, { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings.SchemaEngine;
  })());
}

export interface EngineSession {
  engine: SchemaEngine;
  adapterFactory: PgliteAdapterFactory;
}

/**
 * Runs `fn` with one schema engine whose main and shadow databases are fresh in-memory
 * PGlite instances, then frees everything (PGlite keeps the event loop alive until closed).
 * Pass every migration list the session will replay, so their extensions get loaded.
 */
export async function withSchemaEngine<T>(
  migrationLists: MigrationList[],
  fn: (session: EngineSession) => Promise<T>,
): Promise<T> {
  const SchemaEngineClass = await loadSchemaEngineClass();
  const adapterFactory = createPgliteAdapterFactory(await pgliteExtensionsFor(migrationLists));
  // The engine logs JSON lines (tracing events); only useful when debugging the engine.
  const log = process.env.PRISMA_WASM_ENGINE_LOG ? (line: string) => console.error(line) : () => {};
  try {
    const engine = await SchemaEngineClass.new({ datamodels: undefined }, log, adapterFactory);
    try {
      return await fn({ engine, adapterFactory });
    } finally {
      engine.free();
    }
  } finally {
    await adapterFactory.close();
  }
}

/**
 * The SQL that takes a database built by `migrations` to the state described by
 * `schemaFiles`, or null when there is nothing to do. The migrations are replayed on a fresh
 * shadow database (what `prisma migrate dev` does), so hand-written SQL in them counts.
 */
export async function diffMigrationsToSchema(
  { engine, adapterFactory }: EngineSession,
  migrations: MigrationList,
  schemaFiles: { path: string; content: string }[],
): Promise<string | null> {
  adapterFactory.jsErrors.length = 0;
  const from: DiffTarget = { tag: 'migrations', ...migrations };
  const to: DiffTarget = { tag: 'schemaDatamodel', files: schemaFiles };
  try {
    const result = await engine.diff({
      from,
      to,
      script: true,
      // exitCode 2 = "the diff is not empty"; the script for an empty diff is just a comment.
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.exitCode === 2 ? (result.stdout ?? '') : null;
  } catch (error) {
    throw explainEngineError(error, adapterFactory);
  }
}

/**
 * PGlite ships most contrib extensions as separately loaded bundles. Load the ones that the
 * migrations create, so e.g. `CREATE EXTENSION pg_trgm` replays on the shadow database.
 */
async function pgliteExtensionsFor(migrationLists: MigrationList[]): Promise<Record<string, Extension>> {
  const extensions: Record<string, Extension> = {};
  const pattern = /create\s+extension\s+(?:if\s+not\s+exists\s+)?"?([a-z0-9_-]+)"?/gi;
  for (const dir of migrationLists.flatMap((list) => list.migrationDirectories)) {
    const content = dir.migrationFile.content;
    if (content.tag !== 'ok') continue;
    for (const [, name] of content.value.matchAll(pattern)) {
      const id = name!.toLowerCase().replace(/-/g, '_');
      if (id === 'plpgsql' || id in extensions) continue;
      try {
        const module = (await import(`@electric-sql/pglite/contrib/${id}`)) as Record<string, Extension>;
        if (module[id]) extensions[id] = module[id];
      } catch {
        // Not bundled with PGlite: leave it to PostgreSQL to report "extension not available".
      }
    }
  }
  return extensions;
}

/** An error reported by the schema engine: its message is meant for users, its stack is not. */
export class SchemaEngineError extends Error {
  override name = 'SchemaEngineError';
}

/**
 * Drops the engine's Rust span trace ("0: schema_engine_wasm::...") and, since the engine
 * only says `GenericJs(id)` for JS exceptions in the adapter, appends those.
 */
function explainEngineError(error: unknown, adapterFactory: PgliteAdapterFactory): unknown {
  if (!(error instanceof Error)) return error;
  const message = error.message
    .split('\n')
    .filter((line) => !/^\s*\d+: schema_engine|^\s+at schema-engine\//.test(line))
    .join('\n')
    .trimEnd();
  const causes = adapterFactory.jsErrors.map((e, i) => `  [${i + 1}] ${e instanceof Error ? e.message : String(e)}`);
  const suffix = causes.length > 0 ? `\nJS errors raised inside the driver adapter:\n${causes.join('\n')}` : '';
  return new SchemaEngineError(message + suffix, { cause: error });
}
