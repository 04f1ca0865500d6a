import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit, auditSampler, maskEmail } from '../src/logger/audit.ts';
import { captureLogs } from '../src/testing/index.ts';

describe('audit records', () => {
  it('are structured, flagged and named; failures are warnings', () => {
    const logs = captureLogs();
    audit(logs.logger, 'login', { userId: 'u1', sid: 's1' });
    audit(logs.logger, 'login_failed', { email: 'ann@example.com', reason: 'wrong password' });
    const [ok, failed] = logs.records;
    assert.deepEqual([ok!.audit, ok!.event, ok!.userId, ok!.sid, ok!.level], [true, 'login', 'u1', 's1', 30]);
    assert.deepEqual([failed!.event, failed!.level, failed!.msg], ['login_failed', 40, 'login failed']);
  });

  it('never carry secrets or whole emails, whatever a caller passes', () => {
    const logs = captureLogs();
    audit(logs.logger, 'login_failed', {
      email: 'Ann.Smith@Example.com',
      password: 'hunter2-hunter2',
      refreshToken: 'r-token',
      accessToken: 'a-token',
      authorization: 'Bearer x',
      passwordHash: 'scrypt$…',
      signature: 'sig',
      reason: 'wrong password',
    });
    const record = logs.records[0]!;
    assert.equal(record.email, 'A***@Example.com');
    for (const key of ['password', 'refreshToken', 'accessToken', 'authorization', 'passwordHash', 'signature'])
      assert.ok(!(key in record), key);
    assert.doesNotMatch(JSON.stringify(record), /hunter2|r-token|a-token|Bearer|Smith/);
  });

  it('masks odd emails safely', () => {
    assert.equal(maskEmail('a@b.c'), 'a***@b.c');
    assert.equal(maskEmail('not-an-email'), '***');
    assert.equal(maskEmail('@example.com'), '***');
  });

  it('a sampler lets one record per key through per interval', () => {
    const sample = auditSampler(60_000);
    assert.deepEqual([sample('a'), sample('a'), sample('b'), sample('a')], [true, false, true, false]);
  });
});
