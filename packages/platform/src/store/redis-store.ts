import { Redis, ReplyError } from 'ioredis';
import { assertBucketArguments, assertTtl, type BucketLimit, type BucketTake, type KeyValueStore } from './store.ts';

/**
 * The store port on Redis (ioredis). The token bucket is one Lua script, so
 * a take is atomic across every gateway instance; it refills from the Redis
 * server's clock (`TIME`), so instances with skewed clocks still agree.
 *
 * Commands fail at once while the connection is down (no offline queue):
 * a caller that can fall back (FallbackStore) should, rather than wait.
 * The client keeps reconnecting in the background.
 */
const TAKE_TOKENS_LUA = `
local capacity = tonumber(ARGV[1])
local refill_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local rate = capacity / refill_ms
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local allowed = 0
local retry_after = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
return { allowed, math.floor(tokens), retry_after }
`;

export interface RedisStoreOptions {
  url: string;
  /** Prepended to every key, so deployments (and test runs) can share one Redis. @default '' */
  keyPrefix?: string;
  /** A command that takes longer fails (and a FallbackStore answers instead). @default 500 */
  commandTimeoutMs?: number;
  /** @default 2_000 */
  connectTimeoutMs?: number;
}

type Availability = (up: boolean, error?: Error) => void;

interface WithTakeTokens {
  storefrontTakeTokens(
    key: string,
    capacity: number,
    refillMs: number,
    cost: number,
  ): Promise<[number, number, number]>;
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  readonly client: Redis;
  private readonly prefix: string;
  private readonly listeners = new Set<Availability>();
  private closing = false;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.keyPrefix ?? '';
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      // Reconnect forever, backing off to one attempt per 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
    this.client.defineCommand('storefrontTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
    this.client.on('ready', () => this.emit(true));
    this.client.on('error', (error: Error) => this.emit(false, error));
    this.client.on('close', () => this.emit(false));
  }

  /** Whether commands can be sent now. */
  get available(): boolean {
    return this.client.status === 'ready';
  }

  /** Called on every connection change (the same state may repeat). */
  onAvailability(listener: Availability): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(keys.map((k) => this.prefix + k));
    return values.map((v) => v ?? undefined);
  }

  async set(key: string, value: string, options: { ttlMs?: number } = {}): Promise<void> {
    assertTtl(options.ttlMs);
    if (options.ttlMs) await this.client.set(this.prefix + key, value, 'PX', options.ttlMs);
    else await this.client.set(this.prefix + key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.del(this.prefix + key)) > 0;
  }

  async takeTokens(key: string, limit: BucketLimit, cost = 1): Promise<BucketTake> {
    assertBucketArguments(limit, cost);
    const [allowed, remaining, retryAfterMs] = await (this.client as unknown as WithTakeTokens).storefrontTakeTokens(
      this.prefix + key,
      limit.capacity,
      limit.refillMs,
      cost,
    );
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.listeners.clear();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private emit(up: boolean, error?: Error): void {
    if (this.closing) return;
    for (const listener of this.listeners) listener(up, error);
  }
}

/** An error Redis itself answered (a bad command), as opposed to not reaching Redis. */
export const isRedisReplyError = (error: unknown): boolean => error instanceof ReplyError;
