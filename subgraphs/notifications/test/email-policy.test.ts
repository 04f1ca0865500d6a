import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emailRequestedSchema } from '../src/email/events.ts';
import { describeSendFailure, retryDelayMs } from '../src/email/policy.ts';
import { whyNotEmail } from '../src/email/request.ts';
import type { Recipient } from '../src/data/client.ts';

describe('notifications: email policy', () => {
  it('waits base, 2×, 4×… between attempts, never longer than the cap', () => {
    const policy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 500 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt)),
      [100, 200, 400, 500, 500],
    );
  });

  it('gives up at once only on a permanent SMTP refusal', () => {
    const refusal = (responseCode: number, permanent?: boolean) =>
      Object.assign(new Error(`Message failed: ${responseCode} no`), {
        responseCode,
        ...(permanent === undefined ? {} : { permanent }),
      });
    assert.deepEqual(describeSendFailure(refusal(550, true)), { reason: 'Message failed: 550 no', permanent: true });
    assert.equal(describeSendFailure(refusal(451, false)).permanent, false);
    assert.equal(
      describeSendFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' })).permanent,
      false,
    );
    assert.equal(describeSendFailure('odd').reason, 'odd');
    assert.equal(describeSendFailure(new Error('x'.repeat(5_000))).reason.length, 1_000);
  });

  it('emails only recipients it knows, who want email and are active', () => {
    const recipient: Recipient = {
      userId: '00000000-0000-4000-8000-000000000000',
      email: 'a@example.test',
      name: 'A',
      emailNotifications: true,
      deactivatedAt: null,
      updatedAt: new Date(),
    };
    assert.equal(whyNotEmail(recipient), null);
    assert.equal(whyNotEmail(null), 'unknown-recipient');
    assert.equal(whyNotEmail({ ...recipient, emailNotifications: false }), 'opted-out');
    assert.equal(whyNotEmail({ ...recipient, deactivatedAt: new Date() }), 'deactivated');
  });

  it('reads EmailRequested strictly', () => {
    const notificationId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    assert.equal(emailRequestedSchema.safeParse({ notificationId, attempt: 1 }).success, true);
    assert.equal(
      emailRequestedSchema.safeParse({ notificationId, attempt: 2, notBefore: new Date().toISOString() }).success,
      true,
    );
    assert.equal(emailRequestedSchema.safeParse({ notificationId, attempt: 0 }).success, false);
    assert.equal(emailRequestedSchema.safeParse({ notificationId: 'x', attempt: 1 }).success, false);
    assert.equal(emailRequestedSchema.safeParse({ notificationId, attempt: 2, notBefore: 'soon' }).success, false);
  });
});
