import { createHash } from 'node:crypto';
import type { Logger } from './logger.ts';

/**
 * Security-relevant events as structured log records: `audit: true`, an
 * `event` name and who/what it concerns, so they can be routed to an audit
 * sink and searched. Never secrets: fields that could carry a password, a
 * token or a key are dropped, and emails are masked (`a***@example.com`).
 */
export type AuditEvent =
  | 'signup'
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'refresh_token_reuse'
  | 'session_revoked'
  | 'user_deactivated'
  | 'role_changed'
  | 'access_denied'
  | 'rate_limited'
  | 'token_rejected'
  | 'external_identity_linked'
  | 'external_link_refused';

export interface AuditFields {
  userId?: string | null;
  /** Who did it, when not the subject (an admin deactivating someone). */
  actorId?: string | null;
  email?: string;
  ip?: string;
  reason?: string;
  [key: string]: unknown;
}

const FAILURES = new Set<AuditEvent>([
  'login_failed',
  'refresh_token_reuse',
  'access_denied',
  'rate_limited',
  'token_rejected',
]);
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|credential|^key$|private|signature|hash/i;

export function audit(
  logger: Logger,
  event: AuditEvent,
  fields: AuditFields = {},
  message: string = event.replace(/_/g, ' '),
): void {
  const record: Record<string, unknown> = { audit: true, event };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || SECRET_KEY.test(key)) continue;
    record[key] = key === 'email' && typeof value === 'string' ? maskEmail(value) : value;
  }
  if (FAILURES.has(event)) logger.warn(record, message);
  else logger.info(record, message);
}

/** `ann@example.com` → `a***@example.com`: enough to tell accounts apart in an investigation, not to harvest them. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** A stable, non-reversible tag for a value that must not be logged (e.g. which refresh-token family). */
export const fingerprint = (value: string): string =>
  createHash('sha256').update(value).digest('base64url').slice(0, 12);

/**
 * True at most once per key per interval: a flood of the same refusal (one
 * client hammering a limit, or sending bad tokens) becomes a few audit
 * records, not a full disk.
 */
export function auditSampler(intervalMs = 10_000, maxKeys = 10_000): (key: string) => boolean {
  const last = new Map<string, number>();
  return (key) => {
    const now = Date.now();
    if ((last.get(key) ?? -Infinity) > now - intervalMs) return false;
    if (last.size >= maxKeys) last.clear();
    last.set(key, now);
    return true;
  };
}
