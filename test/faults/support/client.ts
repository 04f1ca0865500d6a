/**
 * A client of the gateway that behaves like a well-written app: it retries
 * what may be retried (no answer, a 5xx, a subgraph that is unavailable or
 * timed out, a rate limit after its Retry-After) with exponential backoff and
 * full jitter, and gives up on anything else at once. Every attempt is
 * recorded for the latency figures.
 */
export interface GraphQLError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface AttemptRecord {
  operation: string;
  startedAt: number;
  durationMs: number;
  /** `ok`, an error code, `HTTP <status>` or the network error's code. */
  outcome: string;
}

export class GiveUp extends Error {
  constructor(
    readonly operation: string,
    readonly lastOutcome: string,
    readonly errors?: GraphQLError[],
  ) {
    super(`${operation}: gave up (${lastOutcome})${errors ? `: ${JSON.stringify(errors)}` : ''}`);
  }
}

const RETRYABLE_CODES = new Set([
  'SUBGRAPH_UNAVAILABLE',
  'SUBGRAPH_TIMEOUT',
  'INTERNAL_SERVER_ERROR',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
]);

export interface CallOptions {
  token?: string;
  /** Retry until this time (epoch ms); then GiveUp. */
  until: number;
  /** Called on UNAUTHENTICATED: returns a fresh token, after which the call is tried again. */
  reauthenticate?: () => Promise<string>;
  /** Error codes that end the call as an answer rather than a failure (the caller inspects them). */
  acceptCodes?: string[];
}

export interface Answer<T> {
  data?: T;
  errors?: GraphQLError[];
}

export class GatewayClient {
  readonly attempts: AttemptRecord[] = [];

  constructor(
    private readonly url: string,
    /** The customer's own address, passed as a proxy in front of the gateway would (X-Forwarded-For). */
    private readonly clientAddress: string,
    /** Jitter source in [0, 1) (the customer's seeded generator). */
    private readonly jitter: () => number,
  ) {}

  async call<T>(
    operation: string,
    query: string,
    variables: Record<string, unknown>,
    options: CallOptions,
  ): Promise<Answer<T>> {
    let token = options.token;
    for (let attempt = 0; ; attempt++) {
      const startedAt = Date.now();
      let outcome: string;
      let retryAfterMs = 0;
      let errors: GraphQLError[] | undefined;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-forwarded-for': this.clientAddress,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        let body: Answer<T> | undefined;
        try {
          body = JSON.parse(text) as Answer<T>;
        } catch {
          body = undefined;
        }
        errors = body?.errors;
        const code = errors?.[0]?.extensions?.code;
        outcome = body && !errors?.length ? 'ok' : (code ?? `HTTP ${res.status}`);
        retryAfterMs = Number(res.headers.get('retry-after') ?? 0) * 1000;
        this.record(operation, startedAt, outcome);
        if (outcome === 'ok' || (code && options.acceptCodes?.includes(code))) return body!;
        if (code === 'UNAUTHENTICATED' && options.reauthenticate) {
          token = await options.reauthenticate();
          continue;
        }
        const retryable = (code && RETRYABLE_CODES.has(code)) || (!code && res.status >= 500);
        if (!retryable) throw new GiveUp(operation, outcome, errors);
      } catch (error) {
        if (error instanceof GiveUp) throw error;
        const cause = (error as { cause?: { code?: string } }).cause;
        outcome = cause?.code ?? (error as Error).name ?? 'network error';
        this.record(operation, startedAt, outcome);
      }
      const backoff = this.jitter() * Math.min(3_000, 200 * 2 ** attempt);
      const wait = Math.max(backoff, retryAfterMs);
      if (Date.now() + wait > options.until) throw new GiveUp(operation, outcome, errors);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private record(operation: string, startedAt: number, outcome: string): void {
    this.attempts.push({ operation, startedAt, durationMs: Date.now() - startedAt, outcome });
  }
}
