/** The one logger of the project, and the audit log of security events written through it. */
export { createLogger, type Logger } from './logger.ts';
export { audit, auditSampler, fingerprint, maskEmail, type AuditEvent, type AuditFields } from './audit.ts';
