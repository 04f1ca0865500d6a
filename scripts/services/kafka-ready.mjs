// Readiness probe used by services.sh: succeeds once a real Kafka client can talk to the
// broker (ApiVersions + Metadata through kafkajs) and its group coordinator answers, not
// merely once the port is open. A KRaft broker opens its listener before it has caught up
// with the controller's metadata log, and until then metadata requests fail.
//
//   node scripts/services/kafka-ready.mjs 127.0.0.1:19092 [timeoutMs]
//
// Exit codes: 0 ready, 1 not ready before the timeout, 3 kafkajs is not installed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const brokers = (process.argv[2] ?? '127.0.0.1:19092').split(',');
const timeoutMs = Number(process.argv[3] ?? 60000);

// Resolve kafkajs from the repo root's node_modules (this file is scripts/services/...).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let kafkajs;
try {
  kafkajs = createRequire(path.join(repoRoot, 'package.json'))('kafkajs');
} catch {
  process.exit(3);
}
const { Kafka, logLevel } = kafkajs;

const deadline = Date.now() + timeoutMs;
let lastError;
while (Date.now() < deadline) {
  const kafka = new Kafka({
    clientId: 'storefront-services-ready',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    const cluster = await admin.describeCluster();
    // FindCoordinator for a group makes the broker create __consumer_offsets and load its
    // group coordinator. Done here once, so the first consumer of a test suite does not
    // spend seconds on "The group coordinator is not available" retries.
    await admin.describeGroups(['storefront-services-ready']);
    // Same for producer ids: the first idempotent producer on a fresh KRaft broker gets
    // "The coordinator is loading" until the broker has fetched a block of producer ids
    // from the controller. An idempotent producer's connect() sends InitProducerId.
    const producer = kafka.producer({ idempotent: true, retry: { retries: 1, initialRetryTime: 100 } });
    await producer.connect();
    await producer.disconnect();
    if (cluster.brokers.length > 0 && cluster.controller !== null) {
      await admin.disconnect();
      process.exit(0);
    }
    lastError = new Error('no controller yet');
  } catch (err) {
    lastError = err;
  }
  await admin.disconnect().catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
}
console.error(`[services] kafka metadata check failed: ${lastError?.message ?? 'timeout'}`);
process.exit(1);
