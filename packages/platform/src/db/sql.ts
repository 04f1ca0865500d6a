/**
 * The slice of a generated Prisma client that platform code needs. Every
 * service's client (and its transaction client) fits, so shared code such as
 * the outbox runs inside the service's own transactions without knowing its models.
 */
export interface RawSql {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

export interface TransactionalSql<Tx extends RawSql = RawSql> extends RawSql {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}
