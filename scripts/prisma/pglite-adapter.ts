// A migration-aware driver adapter factory, in the shape the wasm schema engine calls,
// backed by throwaway in-memory PGlite databases.
//
// Why not hand `new PrismaPGlite(pglite)` to the engine directly:
// - The engine does not catch JS exceptions: like Prisma's own CLI (which wraps factories
//   with `bindMigrationAwareSqlAdapterFactory` from @prisma/driver-adapter-utils) it expects
//   every call to resolve to a Result `{ ok: true, value } | { ok: false, error }`.
// - pglite-prisma-adapter 0.7's `executeScript` does not await `PGlite.exec`, so a failing
//   migration script would resolve "ok" and reject later, unhandled. The engine replays
//   migrations through `executeScript`, so we run scripts ourselves.
// - Its shadow database is one fixed `memory://shadow` instance; we want a fresh one per
//   request, with the PostgreSQL extensions the migrations ask for, closed after use.
import { PGlite, type Extension } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';

type SqlDriverAdapter = Awaited<ReturnType<PrismaPGlite['connect']>>;
type Transaction = Awaited<ReturnType<SqlDriverAdapter['startTransaction']>>;

/** The error payload the engine understands (Prisma's `MappedError`, loosely typed). */
type EngineError = { kind: string; [key: string]: unknown };
type Result<T> = { ok: true; value: T } | { ok: false; error: EngineError };

export interface PgliteAdapterFactory {
  readonly provider: 'postgres';
  readonly adapterName: string;
  connect(): Promise<Result<unknown>>;
  connectToShadowDb(): Promise<Result<unknown>>;
  /** JS errors the engine only saw as `GenericJs` ids, so callers can show the real cause. */
  readonly jsErrors: unknown[];
  /** Closes every PGlite instance opened so far. */
  close(): Promise<void>;
}

/**
 * @param extensions PGlite contrib extensions to load into every database, so that
 *   `CREATE EXTENSION` statements in migrations succeed on the shadow database.
 */
export function createPgliteAdapterFactory(extensions: Record<string, Extension> = {}): PgliteAdapterFactory {
  const jsErrors: unknown[] = [];
  const open = new Set<PGlite>();

  const capture = async <T>(fn: () => Promise<T> | T): Promise<Result<T>> => {
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      return { ok: false, error: toEngineError(error, jsErrors) };
    }
  };

  // Booting PGlite costs ~2 s, cloning a booted one ~0.5 s: boot one pristine template and
  // hand out clones, so the main database and each shadow database are independent.
  let template: Promise<PGlite> | undefined;
  const newDatabase = async () => {
    const booted = await (template ??= PGlite.create({ extensions }).then((pg) => (open.add(pg), pg)));
    // clone() is typed as the PGliteInterface but creates a PGlite (with the same extensions).
    const pg = (await booted.clone()) as PGlite;
    open.add(pg);
    return { pg, adapter: await new PrismaPGlite(pg).connect() };
  };

  const bindAdapter = (database: Promise<{ pg: PGlite; adapter: SqlDriverAdapter }>) => ({
    provider: 'postgres' as const,
    adapterName: 'pglite',
    queryRaw: (query: Parameters<SqlDriverAdapter['queryRaw']>[0]) =>
      capture(async () => (await database).adapter.queryRaw(query)),
    executeRaw: (query: Parameters<SqlDriverAdapter['executeRaw']>[0]) =>
      capture(async () => (await database).adapter.executeRaw(query)),
    executeScript: (script: string) =>
      capture(async () => {
        await (await database).pg.exec(script);
      }),
    startTransaction: (isolationLevel?: Parameters<SqlDriverAdapter['startTransaction']>[0]) =>
      capture(async () => bindTransaction(await (await database).adapter.startTransaction(isolationLevel))),
    getConnectionInfo: () => ({ ok: true as const, value: { supportsRelationJoins: true } }),
    dispose: () =>
      capture(async () => {
        const { pg } = await database;
        open.delete(pg);
        await pg.close();
      }),
  });

  const bindTransaction = (tx: Transaction) => ({
    provider: tx.provider,
    adapterName: tx.adapterName,
    options: tx.options,
    queryRaw: (query: Parameters<Transaction['queryRaw']>[0]) => capture(() => tx.queryRaw(query)),
    executeRaw: (query: Parameters<Transaction['executeRaw']>[0]) => capture(() => tx.executeRaw(query)),
    commit: () => capture(() => tx.commit()),
    rollback: () => capture(() => tx.rollback()),
  });

  // Connection failures surface as Result errors through the adapter's first call.
  const connectNew = async () => {
    const database = newDatabase();
    database.catch(() => {}); // reported by whichever adapter call awaits it first
    return { ok: true as const, value: bindAdapter(database) };
  };

  return {
    provider: 'postgres',
    adapterName: 'pglite',
    jsErrors,
    connect: connectNew,
    // A fresh database per request: the engine replays the migrations into it from scratch.
    connectToShadowDb: connectNew,
    close: async () => {
      await Promise.all([...open].map((pg) => pg.close()));
      open.clear();
    },
  };
}

function toEngineError(error: unknown, jsErrors: unknown[]): EngineError {
  if (error instanceof Error) {
    // pglite-prisma-adapter already mapped it (DriverAdapterError carries the mapped error).
    if (error.name === 'DriverAdapterError' && typeof error.cause === 'object' && error.cause !== null) {
      return error.cause as EngineError;
    }
    // A PostgreSQL error raised by PGlite itself (our executeScript): same shape the adapter
    // uses for codes it has no special kind for, so the engine prints message and code.
    const pgError = error as Error & Record<'code' | 'severity' | 'detail' | 'column' | 'hint', string | undefined>;
    if (typeof pgError.code === 'string' && typeof pgError.severity === 'string') {
      return {
        kind: 'postgres',
        code: pgError.code,
        severity: pgError.severity,
        message: pgError.message,
        detail: pgError.detail,
        column: pgError.column,
        hint: pgError.hint,
      };
    }
  }
  jsErrors.push(error);
  return { kind: 'GenericJs', id: jsErrors.length };
}
