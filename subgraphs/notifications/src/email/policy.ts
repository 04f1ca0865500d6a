/**
 * When to try an email again, and when not to.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Wait after failed attempt `attempt` (from 1): base, 2×base, 4×base, … capped. */
export const retryDelayMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.baseDelayMs * 2 ** Math.max(0, attempt - 1), policy.maxDelayMs);

/** What a failed attempt tells: the reason to record, and whether another attempt could succeed. */
export interface SendFailure {
  reason: string;
  permanent: boolean;
}

/**
 * A 5xx reply (but 503, a session-state complaint) is the server refusing
 * this message for good: RFC 5321 says not to repeat it, so it is given up
 * at once. Everything else (4xx, refused or dropped connections, timeouts)
 * may pass later and is retried.
 */
export function describeSendFailure(error: unknown): SendFailure {
  const reason = error instanceof Error ? error.message : String(error);
  const permanent =
    typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
  return { reason: reason.slice(0, 1_000), permanent };
}
