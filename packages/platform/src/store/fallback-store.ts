import type { Logger } from '../logger/logger.ts';
import { MemoryStore } from './memory-store.ts';
import { isRedisReplyError, type RedisStore } from './redis-store.ts';
import type { BucketLimit, BucketTake, KeyValueStore } from './store.ts';

/**
 * Redis when it answers, the in-process store when it does not: the caller
 * keeps serving through a Redis outage (with per-instance state, e.g. rate
 * limit buckets per gateway instance) and returns to Redis when it is back.
 * Each switch is logged once, not once per command.
 */
export class FallbackStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  private degraded = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly primary: RedisStore,
    private readonly fallback: MemoryStore,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = primary.onAvailability((up, error) => (up ? this.recover() : this.degrade(error)));
  }

  /** True while commands go to the in-process store. */
  get usingFallback(): boolean {
    return this.degraded || !this.primary.available;
  }

  get(key: string): Promise<string | undefined> {
    return this.run((store) => store.get(key));
  }

  getMany(keys: string[]): Promise<(string | undefined)[]> {
    return this.run((store) => store.getMany(keys));
  }

  set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    return this.run((store) => store.set(key, value, options));
  }

  delete(key: string): Promise<boolean> {
    return this.run((store) => store.delete(key));
  }

  takeTokens(key: string, limit: BucketLimit, cost?: number): Promise<BucketTake> {
    return this.run((store) => store.takeTokens(key, limit, cost));
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }

  private async run<T>(operation: (store: KeyValueStore) => Promise<T>): Promise<T> {
    if (this.primary.available) {
      try {
        const result = await operation(this.primary);
        this.recover();
        return result;
      } catch (error) {
        // Redis answered with an error (or the arguments were wrong): a bug, not an outage.
        if (isRedisReplyError(error) || error instanceof RangeError) throw error;
        this.degrade(error as Error);
      }
    }
    return operation(this.fallback);
  }

  private degrade(error?: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.error(
      { err: error ? { message: error.message, code: (error as { code?: string }).code } : undefined },
      'redis is unreachable: using in-process state on this instance until it is back',
    );
  }

  private recover(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.warn('redis is reachable again: using it');
  }
}
