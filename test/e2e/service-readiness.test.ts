import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { createEvent, deadLetterTopic, type DeliveredEvent } from '@storefront/platform/events';
import { startService, type RunningService } from '@storefront/platform/service';
import { captureLogs, eventually, recordEvents, serviceTestEnv } from '@storefront/platform/testing';
import { loadProductsConfig, productsService } from '@storefront/products';

// CommonJS: its enums are properties of the default export, not named exports.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

/**
 * A subgraph's GET /readyz tells the truth about the instance: database,
 * outbox relay and every event consumer, as JSON, and 503 when one of them
 * has stopped for good.
 *
 * The crash is a real one. kafkajs stops a consumer for good (no restart of
 * its own) when an error it deems non-retriable leaves `eachMessage`. Our
 * adapter lets only one kind out: a dead-letter publish the broker refuses.
 * So the test gives the products service one more consumer whose handler
 * refuses an event, and shrinks that topic's dead-letter topic
 * (`max.message.bytes`) until the broker answers MESSAGE_TOO_LARGE, which
 * kafkajs does not retry. Then /readyz must say 503 naming the group within
 * seconds; once the topic is fixed, the consumer we start again parks the
 * event, consumes the next one, and /readyz says 200.
 */
const PROBE_TOPIC = 'readiness-probe';
const GROUP = 'products.readiness-probe';

interface ReadyBody {
  status: string;
  checks: { database: string; outbox: string; consumers: Record<string, string> };
}

async function readyz(service: RunningService): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(new URL('/readyz', service.url), { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

describe('subgraph readiness', { timeout: 240_000 }, () => {
  let service: RunningService;
  let env: Record<string, string>;
  const handled: DeliveredEvent[] = [];
  const logs = captureLogs('info');

  before(async () => {
    env = await serviceTestEnv();
    const definition = productsService(loadProductsConfig(env));
    service = await startService(
      {
        ...definition,
        build: async (runtime: Parameters<typeof definition.build>[0]) => {
          const parts = await definition.build(runtime);
          const probe = {
            name: 'readiness-probe',
            topics: [PROBE_TOPIC],
            maxAttempts: 1,
            handler: async (delivered: DeliveredEvent) => {
              if (delivered.event.type === 'Unprocessable') throw new Error('this event cannot be handled');
              handled.push(delivered);
            },
          };
          return { ...parts, consumers: [...(parts.consumers ?? []), probe] };
        },
      },
      { logger: logs.logger },
    );
    await service.consumersRunning;
  });
  after(async () => {
    await service?.stop();
  });

  it('answers 200 with the database, the outbox relay and every consumer in the body', async () => {
    const { status, body } = await readyz(service);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.database, 'ok');
    assert.equal(body.checks.outbox, 'running');
    assert.equal(body.checks.consumers.products, 'running', JSON.stringify(body));
    assert.equal(body.checks.consumers[GROUP], 'running', JSON.stringify(body));
    // Liveness stays liveness: no checks, no body beyond "ok".
    const live = await fetch(new URL('/healthz', service.url));
    assert.deepEqual([live.status, await live.json()], [200, { status: 'ok' }]);
  });

  if (process.env.KAFKA_BROKERS) {
    it('a consumer kafkajs stopped makes the instance unready within seconds; it is started again and consumes on', async () => {
      const kafka = new Kafka({
        clientId: 'readiness-test',
        brokers: env.KAFKA_BROKERS!.split(','),
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      const dlq = env.KAFKA_TOPIC_PREFIX + deadLetterTopic(PROBE_TOPIC);
      const setMaxMessageBytes = (value: string) =>
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: dlq, configEntries: [{ name: 'max.message.bytes', value }] },
          ],
        });
      const letters = await recordEvents(service.bus, [deadLetterTopic(PROBE_TOPIC)]);
      try {
        // No dead letter fits any more.
        await setMaxMessageBytes('64');
        const refused = createEvent('test', 'Unprocessable', 'probe-1', {});
        await service.bus.publish(PROBE_TOPIC, [refused]);
        const crashedAt = Date.now();

        const unready = await eventually(
          async () => {
            const answer = await readyz(service);
            return answer.status === 503 && answer.body.checks.consumers[GROUP] === 'stopped' && answer;
          },
          20_000,
          '/readyz to answer 503 with the crashed group stopped',
        );
        const secondsToUnready = (Date.now() - crashedAt) / 1000;
        assert.equal(unready.body.status, 'not ready');
        assert.equal(unready.body.checks.consumers.products, 'running', 'the other consumers are not affected');
        assert.equal(unready.body.checks.database, 'ok');
        // The crash and the restart are logged, with kafkajs' error.
        const restart = await eventually(
          () => logs.find('the event bus stopped this consumer; starting a new one in the same group')[0],
          5_000,
          'the restart to be logged',
        );
        assert.equal(restart.groupId, GROUP);
        assert.match(JSON.stringify(restart.err), /MESSAGE_TOO_LARGE|larger than/i);

        // The dead-letter topic is fixed: the consumer started again parks the event and takes the next one.
        await setMaxMessageBytes('1048588');
        const next = createEvent('test', 'Processable', 'probe-2', {});
        await service.bus.publish(PROBE_TOPIC, [next]);
        await eventually(() => handled.some((d) => d.event.id === next.id), 60_000, 'the next event to be consumed');
        // The recorder is a group of its own: the letter reaches it in its own time.
        await eventually(() => letters.events.length > 0, 30_000, 'the dead letter');
        assert.deepEqual(
          letters.events.map((letter) => (letter.data as { event: { id: string } }).event.id),
          [refused.id],
          'the refused event went to the dead-letter topic once it accepted it',
        );
        const ready = await eventually(
          async () => {
            const answer = await readyz(service);
            return answer.status === 200 && answer;
          },
          20_000,
          '/readyz to answer 200 again',
        );
        assert.equal(ready.body.checks.consumers[GROUP], 'running');
        assert.ok(secondsToUnready < 10, `unready after ${secondsToUnready} s`);
        process.stdout.write(`# unready ${secondsToUnready.toFixed(1)} s after the crashing event was published\n`);
      } finally {
        await letters.stop();
        await admin.disconnect();
      }
    });
  }
});
