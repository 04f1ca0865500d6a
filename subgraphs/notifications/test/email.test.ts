import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type DeadLetter,
  markProcessed,
  enqueueEvents,
  TOPICS,
  createEvent,
  type EventEnvelope,
} from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import type { RunningService } from '@storefront/platform/service';
import { eventually, freePort, recordEvents, serviceTestEnv } from '@storefront/platform/testing';
import { createRegistry } from '@storefront/platform/metrics';
import type { NotificationsDb } from '../src/data/client.ts';
import {
  EMAIL_DEAD_LETTER_TOPIC,
  EMAIL_REQUEST_TOPIC,
  EMAIL_RETRY_TOPIC,
  emailRequested,
  type EmailRequestedData,
} from '../src/email/events.ts';
import { createMailer } from '../src/email/mailer.ts';
import { createEmailSender, INTERRUPTED_REASON, type SenderRuntime } from '../src/email/sender.ts';
import { loadNotificationsConfig, startNotifications } from '../src/index.ts';
import {
  emailRowsOf,
  notificationsOf,
  orderPlaced,
  orderStatus,
  pause,
  publishOrderEvents,
  registerUser,
  settledEmailsOf,
  userSnapshot,
} from './helpers.ts';
import { startTestSmtpServer, type TestSmtpServer } from './smtp.ts';

/**
 * The email channel against a real SMTP server on loopback, on whichever
 * backends the test command provides (embedded, or PostgreSQL + Kafka).
 * Small retry delays keep the retry paths quick.
 */
const EMAIL_SETTINGS = {
  EMAIL_FROM: 'Storefront <orders@shop.test>',
  EMAIL_MAX_ATTEMPTS: '4',
  EMAIL_RETRY_BASE_MS: '80',
  EMAIL_RETRY_MAX_MS: '1000',
  EMAIL_SEND_TIMEOUT_MS: '3000',
};
const MAX_ATTEMPTS = 4;
/** Longer than anything still in flight needs to show up, were it (wrongly) going to. */
const SETTLE_MS = 700;

const address = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.test`;
const letterFor = (letters: EventEnvelope[], notificationId: string) =>
  letters
    .map((l) => l.data as DeadLetter)
    .find((l) => (l.event.data as EmailRequestedData).notificationId === notificationId);

async function startWithSmtp(smtpUrl: string) {
  const env = await serviceTestEnv();
  const service = await startNotifications(loadNotificationsConfig({ ...env, ...EMAIL_SETTINGS, SMTP_URL: smtpUrl }));
  // The tests publish at once: let the consumers (which join after the port opens) be in their groups first.
  await service.consumersRunning;
  return service;
}

describe('notifications: email over SMTP', () => {
  let smtp: TestSmtpServer;
  let service: RunningService<NotificationsDb>;
  let deadLetters: EventEnvelope[];
  let requests: EventEnvelope[];
  let retries: EventEnvelope[];

  before(async () => {
    smtp = await startTestSmtpServer();
    service = await startWithSmtp(smtp.url);
    await service.bus.ensureTopics([TOPICS.orderEvents, TOPICS.userEvents]);
    deadLetters = (await recordEvents(service.bus, [EMAIL_DEAD_LETTER_TOPIC])).events;
    requests = (await recordEvents(service.bus, [EMAIL_REQUEST_TOPIC])).events;
    retries = (await recordEvents(service.bus, [EMAIL_RETRY_TOPIC])).events;
  });
  after(async () => {
    await service.stop();
    await smtp.close();
  });

  it('emails each order update once, to its customer, with the in-app words — also when every event arrives twice', async () => {
    const ann = randomUUID();
    const to = address('ann');
    await registerUser(service, ann, { email: to, name: 'Ann' });
    const [shipping, cancelled, rejected] = [randomUUID(), randomUUID(), randomUUID()];
    const events = [
      orderPlaced(shipping, ann, [2]),
      orderStatus('OrderConfirmed', shipping, ann, { sequence: 2, total: { amount: 4200, currency: 'USD' } }),
      orderStatus('OrderShipped', shipping, ann, { sequence: 4 }),
      orderStatus('OrderDelivered', shipping, ann, { sequence: 5 }),
      orderStatus('OrderCancelled', cancelled, ann, { reason: 'Cancelled by the customer' }),
      orderStatus('OrderRejected', rejected, ann, { reason: 'Not enough stock' }),
    ];
    await publishOrderEvents(service, ...events, ...events);
    await publishOrderEvents(service, ...events);

    const subjects = [
      'Welcome to Storefront, Ann',
      `Order ${shipping.slice(0, 8)} confirmed`,
      `Order ${shipping.slice(0, 8)} shipped`,
      `Order ${shipping.slice(0, 8)} delivered`,
      `Order ${cancelled.slice(0, 8)} cancelled`,
      `Order ${rejected.slice(0, 8)} could not be accepted`,
    ];
    const rows = await settledEmailsOf(service, ann, subjects.length);
    await pause(SETTLE_MS);
    const received = smtp.messagesTo(to);
    assert.deepEqual(received.map((m) => m.subject).sort(), [...subjects].sort(), 'each email exactly once');
    assert.equal((await emailRowsOf(service, ann)).length, subjects.length);

    const inApp = await notificationsOf(service, ann, subjects.length * 2);
    for (const row of rows) {
      assert.equal(row.status, 'SENT');
      assert.equal(row.attempts, 1);
      assert.equal(row.address, to);
      assert.ok(row.sentAt);
      const mail = received.find((m) => m.subject === row.subject)!;
      assert.equal(mail.text, row.body);
      assert.equal(mail.headers.get('to'), to);
      assert.equal(mail.headers.get('from'), 'Storefront <orders@shop.test>');
      assert.equal(mail.from, 'orders@shop.test');
      assert.equal(mail.headers.get('message-id'), `<${row.id}@shop.test>`);
      // The same words reach the customer in-app.
      assert.ok(inApp.some((n) => n.channel === 'IN_APP' && n.subject === row.subject && n.body === row.body));
    }
    assert.equal(
      received.find((m) => m.subject.endsWith('delivered'))!.text,
      'Your order of 2 items totalling $42.00 has been delivered.',
    );
  });

  it('welcomes a new user by email once, however often UserRegistered arrives', async () => {
    const bo = randomUUID();
    const to = address('bo');
    const registered = await registerUser(service, bo, { email: to, name: '  Bo\r\nBcc: evil@example.test ' });
    await service.bus.publish(TOPICS.userEvents, [registered, registered]);
    const [row] = await settledEmailsOf(service, bo, 1);
    await pause(SETTLE_MS);
    const received = smtp.messagesTo(to);
    assert.equal(received.length, 1);
    // A name is one line of words: it cannot add a header.
    assert.equal(received[0]!.subject, 'Welcome to Storefront, Bo Bcc: evil@example.test');
    assert.equal(received[0]!.headers.get('bcc'), undefined);
    assert.equal(smtp.messagesTo('evil@example.test').length, 0);
    assert.match(received[0]!.text, /^Hi Bo Bcc: evil@example\.test, thanks for signing up\./);
    assert.equal(row!.status, 'SENT');
    const inApp = (await notificationsOf(service, bo, 2)).filter((n) => n.channel === 'IN_APP');
    assert.deepEqual(
      inApp.map((n) => n.subject),
      [received[0]!.subject],
    );
  });

  it('respects email preferences: off → in-app only; turned off later or deactivated → no more email', async () => {
    const cy = randomUUID();
    const cyTo = address('cy');
    await registerUser(service, cy, { email: cyTo, name: 'Cy', emailNotifications: false });

    const dee = randomUUID();
    const deeTo = address('dee');
    await registerUser(service, dee, { email: deeTo, name: 'Dee' });
    await settledEmailsOf(service, dee, 1); // the welcome, while email was on
    await service.bus.publish(TOPICS.userEvents, [
      userSnapshot('UserUpdated', dee, { email: deeTo, name: 'Dee', emailNotifications: false }),
    ]);
    await eventually(
      async () => (await service.db.recipient.findUnique({ where: { userId: dee } }))?.emailNotifications === false,
    );

    const eve = randomUUID();
    const eveTo = address('eve');
    await registerUser(service, eve, { email: eveTo, name: 'Eve' });
    await settledEmailsOf(service, eve, 1);
    await service.bus.publish(TOPICS.userEvents, [createEvent('users', 'UserDeactivated', eve, { userId: eve })]);
    await eventually(async () => (await service.db.recipient.findUnique({ where: { userId: eve } }))?.deactivatedAt);

    for (const userId of [cy, dee, eve]) {
      const orderId = randomUUID();
      await publishOrderEvents(
        service,
        orderStatus('OrderConfirmed', orderId, userId),
        orderStatus('OrderShipped', orderId, userId, { sequence: 3 }),
      );
    }
    // The EMAIL row would be written in the same transaction as the in-app one, so once these exist, the decision is made.
    const cyInApp = await notificationsOf(service, cy, 3);
    await notificationsOf(service, dee, 4);
    await notificationsOf(service, eve, 4);
    assert.deepEqual(
      cyInApp.map((n) => n.channel),
      ['IN_APP', 'IN_APP', 'IN_APP'],
      'cy: welcome, confirmed, shipped in-app',
    );
    assert.equal((await emailRowsOf(service, cy)).length, 0);
    assert.equal((await emailRowsOf(service, dee)).length, 1);
    assert.equal((await emailRowsOf(service, eve)).length, 1);
    await pause(SETTLE_MS);
    assert.equal(smtp.messagesTo(cyTo).length, 0);
    assert.deepEqual(
      smtp.messagesTo(deeTo).map((m) => m.subject),
      ['Welcome to Storefront, Dee'],
    );
    assert.deepEqual(
      smtp.messagesTo(eveTo).map((m) => m.subject),
      ['Welcome to Storefront, Eve'],
    );
  });

  it('asks again just before sending: a user who turned email off meanwhile is skipped', async () => {
    const fay = randomUUID();
    const to = address('fay');
    await registerUser(service, fay, { email: to, name: 'Fay', emailNotifications: false });
    // An email requested while email was on, whose attempt comes after the user turned it off.
    const pending = await service.db.notification.create({
      data: {
        userId: fay,
        channel: 'EMAIL',
        status: 'PENDING',
        eventId: randomUUID(),
        subject: 'Order abc shipped',
        body: 'On its way.',
      },
    });
    await service.bus.publish(EMAIL_REQUEST_TOPIC, [emailRequested(pending, 1)]);
    const row = await eventually(async () => {
      const r = await service.db.notification.findUnique({ where: { id: pending.id } });
      return r?.status === 'SKIPPED' ? r : undefined;
    });
    assert.equal(row.attempts, 0);
    assert.match(row.lastError ?? '', /opted-out/);
    await pause(SETTLE_MS);
    assert.equal(smtp.messagesTo(to).length, 0);
  });

  it('retries a refused email with growing waits, then dead-letters it with the reason after exactly the configured attempts', async () => {
    const gus = randomUUID();
    const to = address('gus');
    smtp.refuseAlways(to, 'rcpt', 451);
    await registerUser(service, gus, { email: to, name: 'Gus' });
    const [row] = await settledEmailsOf(service, gus, 1);
    assert.equal(row!.status, 'FAILED');
    assert.equal(row!.attempts, MAX_ATTEMPTS);
    assert.match(row!.lastError ?? '', /451/);
    assert.equal(row!.sentAt, null);

    const letter = await eventually(() => letterFor(deadLetters, row!.id));
    assert.equal(letter.attempts, MAX_ATTEMPTS);
    assert.match(letter.error, /451 Try again later/);
    assert.equal(letter.topic, EMAIL_RETRY_TOPIC);
    assert.equal(letter.groupId, 'notifications.email-retry');
    assert.equal((letter.event.data as EmailRequestedData).attempt, MAX_ATTEMPTS);

    await pause(SETTLE_MS);
    const tries = smtp.attemptsTo(to, 'rcpt');
    assert.equal(tries.length, MAX_ATTEMPTS, 'no attempt more, none less');
    assert.ok(tries.every((t) => t.refusedWith === 451));
    assert.equal(smtp.messagesTo(to).length, 0);
    // Each retry waited at least its backoff: 80, 160, 320 ms.
    tries
      .slice(1)
      .forEach((t, i) =>
        assert.ok(t.at - tries[i]!.at >= 80 * 2 ** i - 5, `wait before attempt ${i + 2}: ${t.at - tries[i]!.at} ms`),
      );
    const chain = retries
      .filter((e) => (e.data as EmailRequestedData).notificationId === row!.id)
      .map((e) => e.data as EmailRequestedData);
    assert.deepEqual(
      chain.map((r) => r.attempt),
      [2, 3, 4],
    );
    assert.ok(chain.every((r) => r.notBefore));
    assert.equal(deadLetters.filter((l) => (l.data as DeadLetter).event.aggregateId === gus).length, 1);
  });

  it('gives up at once on a permanent refusal (5xx): retrying would get the same answer', async () => {
    const hal = randomUUID();
    const to = address('hal');
    smtp.refuseAlways(to, 'rcpt', 550);
    await registerUser(service, hal, { email: to, name: 'Hal' });
    const [row] = await settledEmailsOf(service, hal, 1);
    assert.equal(row!.status, 'FAILED');
    assert.equal(row!.attempts, 1);
    const letter = await eventually(() => letterFor(deadLetters, row!.id));
    assert.equal(letter.attempts, 1);
    assert.match(letter.error, /550 Mailbox unavailable/);
    assert.equal(letter.topic, EMAIL_REQUEST_TOPIC);
    await pause(SETTLE_MS);
    assert.equal(smtp.attemptsTo(to, 'rcpt').length, 1);
  });

  it('delivers exactly once after transient failures (refused twice after the whole message, then accepted)', async () => {
    const ivy = randomUUID();
    const to = address('ivy');
    smtp.refuse(to, 'data', [451, 421]);
    const metricsBefore = await emailMetrics();
    await registerUser(service, ivy, { email: to, name: 'Ivy' });
    const [row] = await settledEmailsOf(service, ivy, 1);
    assert.equal(row!.status, 'SENT');
    assert.equal(row!.attempts, 3);
    assert.ok(row!.sentAt);
    await pause(SETTLE_MS);
    assert.equal(smtp.messagesTo(to).length, 1);
    assert.deepEqual(
      smtp.attemptsTo(to, 'data').map((a) => a.refusedWith ?? 'accepted'),
      [451, 421, 'accepted'],
    );
    assert.equal(letterFor(deadLetters, row!.id), undefined);
    // What the operator's dashboard shows: two failed attempts and one sent.
    const metricsAfter = await emailMetrics();
    assert.equal(metricsAfter.failed - metricsBefore.failed, 2);
    assert.equal(metricsAfter.sent - metricsBefore.sent, 1);
  });

  /** The service's email counters, as Prometheus scrapes them from /metrics. */
  async function emailMetrics(): Promise<Record<'sent' | 'failed', number>> {
    const text = await (await fetch(new URL('/metrics', service.url))).text();
    const count = (outcome: string) =>
      Number(new RegExp(`^emails_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    return { sent: count('sent'), failed: count('failed') };
  }

  it('never sends twice when an EmailRequested event is delivered again, by either topic, after it was sent', async () => {
    const jo = randomUUID();
    const to = address('jo');
    await registerUser(service, jo, { email: to, name: 'Jo' });
    const [row] = await settledEmailsOf(service, jo, 1);
    const original = await eventually(() =>
      requests.find((e) => (e.data as EmailRequestedData).notificationId === row!.id),
    );
    // The same event again (a redelivery), and different events for the same and the next attempt (duplicate requests).
    const copies = [emailRequested(row!, 1), emailRequested(row!, 2, { notBefore: new Date() })];
    await service.bus.publish(EMAIL_REQUEST_TOPIC, [original, copies[0]!]);
    await service.bus.publish(EMAIL_RETRY_TOPIC, [original, copies[1]!]);
    // Handled (and found to be nothing to do) once they are marked processed.
    await eventually(
      async () =>
        (await service.db.processedEvent.count({ where: { eventId: { in: copies.map((c) => c.id) } } })) === 2,
    );
    await pause(SETTLE_MS);
    assert.equal(smtp.messagesTo(to).length, 1);
    const after = await service.db.notification.findUniqueOrThrow({ where: { id: row!.id } });
    assert.equal(after.status, 'SENT');
    assert.equal(after.attempts, 1);
  });

  it('does not repeat an attempt that was interrupted mid-send: it is dead-lettered as of unknown outcome', async () => {
    const kit = randomUUID();
    const to = address('kit');
    await registerUser(service, kit, { email: to, name: 'Kit', emailNotifications: false });
    // What a crash between claiming attempt 1 and recording its outcome leaves behind; the bus then redelivers the request.
    const id = randomUUID();
    const request = emailRequested({ id, userId: kit }, 1);
    const claimed = await service.db.notification.create({
      data: {
        id,
        userId: kit,
        channel: 'EMAIL',
        status: 'SENDING',
        attempts: 1,
        claimedBy: request.id,
        eventId: randomUUID(),
        subject: 'Order abc delivered',
        body: 'Delivered.',
      },
    });
    await service.db.recipient.update({ where: { userId: kit }, data: { emailNotifications: true } });

    // Another request for the attempt in flight is not the one sending it: it leaves the row alone.
    const other = emailRequested(claimed, 1);
    await service.bus.publish(EMAIL_REQUEST_TOPIC, [other]);
    await eventually(async () => (await service.db.processedEvent.count({ where: { eventId: other.id } })) === 1);
    assert.equal((await service.db.notification.findUniqueOrThrow({ where: { id } })).status, 'SENDING');
    assert.equal(letterFor(deadLetters, id), undefined);

    await service.bus.publish(EMAIL_REQUEST_TOPIC, [request]);
    const letter = await eventually(() => letterFor(deadLetters, claimed.id));
    assert.equal(letter.error, INTERRUPTED_REASON);
    assert.equal(letter.event.id, request.id);
    const row = await service.db.notification.findUniqueOrThrow({ where: { id: claimed.id } });
    assert.equal(row.status, 'FAILED');
    assert.equal(row.attempts, 1);
    await pause(SETTLE_MS);
    assert.equal(smtp.messagesTo(to).length, 0);
  });

  it('records the true outcome on the handler’s retry after a database blip, rather than calling it unknown', async () => {
    const config = loadNotificationsConfig({ ...EMAIL_SETTINGS, SMTP_URL: smtp.url });
    const logger = createLogger({ name: 'test', level: 'silent' });
    let blips = 1;
    // processOnce as the platform's, except that the first transaction fails (after the mail went out).
    const processOnce: SenderRuntime['processOnce'] = async (event, work) => {
      if (blips-- > 0) throw new Error('database blip');
      return service.db.$transaction(async (tx) => {
        const fresh = await markProcessed(tx, 'notifications', event.id);
        if (fresh) await work(tx, async (topic, emitted) => enqueueEvents(tx, [{ topic, event: emitted }]));
        return fresh;
      });
    };
    const attemptEmail = createEmailSender(
      { name: 'notifications', db: service.db, logger, processOnce, metrics: createRegistry() },
      createMailer(config, logger),
      {
        maxAttempts: MAX_ATTEMPTS,
        baseDelayMs: 10,
        maxDelayMs: 10,
      },
    );
    const mo = randomUUID();
    const to = address('mo');
    await service.db.recipient.create({ data: { userId: mo, email: to, name: 'Mo' } });
    const row = await service.db.notification.create({
      data: {
        userId: mo,
        channel: 'EMAIL',
        status: 'PENDING',
        eventId: randomUUID(),
        subject: 'Order abc shipped',
        body: 'On its way.',
      },
    });
    const request = emailRequested(row, 1);
    const source = { topic: EMAIL_REQUEST_TOPIC, groupId: 'notifications.email' };
    await assert.rejects(attemptEmail(request, { notificationId: row.id, attempt: 1 }, source), /database blip/);
    assert.equal((await service.db.notification.findUniqueOrThrow({ where: { id: row.id } })).status, 'SENDING');
    // The platform retries the handler with the same event.
    await attemptEmail(request, { notificationId: row.id, attempt: 1 }, source);
    const after = await service.db.notification.findUniqueOrThrow({ where: { id: row.id } });
    assert.equal(after.status, 'SENT');
    assert.equal(after.attempts, 1);
    assert.equal(smtp.messagesTo(to).length, 1);
    // And a third delivery of it is a no-op.
    await attemptEmail(request, { notificationId: row.id, attempt: 1 }, source);
    assert.equal(smtp.messagesTo(to).length, 1);
  });
});

describe('notifications: email when the SMTP server is down', () => {
  let service: RunningService<NotificationsDb>;
  let deadLetters: EventEnvelope[];

  before(async () => {
    service = await startWithSmtp(`smtp://127.0.0.1:${await freePort()}`);
    deadLetters = (await recordEvents(service.bus, [EMAIL_DEAD_LETTER_TOPIC])).events;
  });
  after(() => service?.stop());

  it('retries a refused connection and dead-letters the email after the configured attempts, with the reason', async () => {
    const lu = randomUUID();
    await registerUser(service, lu, { email: address('lu'), name: 'Lu' });
    const [row] = await settledEmailsOf(service, lu, 1);
    assert.equal(row!.status, 'FAILED');
    assert.equal(row!.attempts, MAX_ATTEMPTS);
    const letter = await eventually(() => letterFor(deadLetters, row!.id));
    assert.equal(letter.attempts, MAX_ATTEMPTS);
    assert.match(letter.error, /ECONNREFUSED|connect/i);
    assert.equal(row!.lastError, letter.error);
    // The in-app welcome did not wait for the mail server.
    assert.equal((await notificationsOf(service, lu, 2)).filter((n) => n.channel === 'IN_APP').length, 1);
  });
});
