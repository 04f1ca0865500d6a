// Proof that kafkajs 2.2.4 (unmaintained since 2023) works against the Kafka broker that
// scripts/services/services.sh runs, for everything the project's event bus relies on:
//
//   1. admin: create a topic with 3 partitions, read its metadata (and delete it at the end)
//   2. idempotent producer: keyed messages, several keys, interleaved across sends
//   3. consumer group, from beginning, manual commits: per-key order preserved, no duplicates,
//      keys spread over partitions, committed offsets == high watermarks
//   4. restart a consumer in the same group: it reads only what was produced after the commit
//   5. two consumers in one group: partitions are split between them, disjoint and complete,
//      and each receives exactly the messages of its own partitions
//
//   bash scripts/services/services.sh start
//   node scripts/services/kafka-proof.mjs [brokers]      # default $KAFKA_BROKERS or 127.0.0.1:19092
//
// Prints one line per check and a final PASS / FAIL; exit code 0 only on PASS.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(repoRoot, 'package.json'));
const { Kafka, logLevel, Partitioners } = require('kafkajs');
const kafkajsVersion = require('kafkajs/package.json').version;

const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const OVERALL_TIMEOUT_MS = 150_000;

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const TOPIC = `proof-${run}`;
const KEYS = Array.from({ length: 12 }, (_, i) => `order-${i + 1}`);
const PHASE1_PER_KEY = 25;
const PHASE2_PER_KEY = 5;
const PHASE3_PER_KEY = 3;

const kafka = new Kafka({
  clientId: 'kafka-proof',
  brokers,
  // WARN: protocol errors (unsupported versions and the like) must be visible.
  logLevel: logLevel.WARN,
});

// ---- bookkeeping --------------------------------------------------------------------------
const results = [];
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''} [${elapsed()}]`);
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, predicate, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const overall = setTimeout(() => {
  console.log(`FAIL: kafka-proof did not finish within ${OVERALL_TIMEOUT_MS / 1000}s`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

// Every message carries its key, per-key sequence number and phase in the value.
const decode = (m) => JSON.parse(m.value.toString());

async function produce(producer, phase, fromSeq, perKey) {
  // One send per sequence number, all keys interleaved in it: messages for different keys
  // (and partitions) travel in the same request, so order is not trivially preserved.
  for (let seq = fromSeq; seq < fromSeq + perKey; seq++) {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: KEYS.map((key) => ({ key, value: JSON.stringify({ key, seq, phase }) })),
    });
  }
}

function checkOrder(label, received, fromSeq, perKey) {
  const byKey = new Map(KEYS.map((k) => [k, []]));
  for (const r of received) byKey.get(r.key)?.push(r.seq);
  const bad = [];
  for (const [key, seqs] of byKey) {
    const expected = Array.from({ length: perKey }, (_, i) => fromSeq + i);
    if (seqs.join(',') !== expected.join(',')) bad.push(`${key}: [${seqs.join(',')}]`);
  }
  return check(
    `${label}: per-key order preserved for ${KEYS.length} keys`,
    bad.length === 0,
    bad.slice(0, 3).join('; '),
  );
}

const admin = kafka.admin();
const clients = [admin];

try {
  console.log(`kafkajs ${kafkajsVersion} -> ${brokers.join(',')} topic ${TOPIC}`);
  await admin.connect();
  const cluster = await admin.describeCluster();
  check(
    'admin connect + describeCluster',
    cluster.brokers.length === 1,
    `controller ${cluster.controller}, ${cluster.brokers.length} broker(s)`,
  );

  // ---- 1. topic with 3 partitions --------------------------------------------------------
  const created = await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const partitions = meta.topics[0].partitions.map((p) => p.partitionId).sort();
  check(
    'createTopics with 3 partitions',
    created === true && partitions.join() === '0,1,2',
    `partitions ${partitions}`,
  );

  // ---- 2. idempotent keyed producer ------------------------------------------------------
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner, // murmur2, same as the Java client
    idempotent: true,
    maxInFlightRequests: 1,
  });
  clients.push(producer);
  await producer.connect();
  await produce(producer, 1, 0, PHASE1_PER_KEY);
  const phase1Total = KEYS.length * PHASE1_PER_KEY;
  const high1 = await admin.fetchTopicOffsets(TOPIC);
  const sum1 = high1.reduce((s, p) => s + Number(p.high), 0);
  check(
    'idempotent producer: keyed messages written',
    sum1 === phase1Total,
    `${sum1}/${phase1Total} messages, high watermarks ${high1.map((p) => `p${p.partition}=${p.high}`).join(' ')}`,
  );

  // ---- 3. group consumer from beginning, manual commit -----------------------------------
  const G1 = `proof-g1-${run}`;
  const received1 = [];
  const keyPartition = new Map();
  let partitionMismatch = 0;
  const c1 = kafka.consumer({ groupId: G1 });
  clients.push(c1);
  await c1.connect();
  await c1.subscribe({ topic: TOPIC, fromBeginning: true });
  await c1.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const v = decode(message);
      received1.push(v);
      if (keyPartition.has(v.key) && keyPartition.get(v.key) !== partition) partitionMismatch++;
      keyPartition.set(v.key, partition);
      // Commit after processing, as the project's idempotent consumers do.
      await c1.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  await waitFor(`${phase1Total} messages in group ${G1}`, () => received1.length >= phase1Total);
  await sleep(1000); // anything extra (duplicates) would arrive now
  check(
    'consumer group from beginning: all messages, no duplicates',
    received1.length === phase1Total,
    `${received1.length}/${phase1Total}`,
  );
  checkOrder('phase 1', received1, 0, PHASE1_PER_KEY);
  const usedPartitions = new Set(keyPartition.values());
  check(
    'a key always lands in one partition; keys cover all 3 partitions',
    partitionMismatch === 0 && usedPartitions.size === 3,
    `${KEYS.map((k) => `${k}->p${keyPartition.get(k)}`).join(' ')}`,
  );

  const committed = await admin.fetchOffsets({ groupId: G1, topics: [TOPIC] });
  const committedStr = committed[0].partitions
    .map((p) => `p${p.partition}=${p.offset}`)
    .sort()
    .join(' ');
  const highStr = high1
    .map((p) => `p${p.partition}=${p.high}`)
    .sort()
    .join(' ');
  check('committed offsets == high watermarks', committedStr === highStr, `committed ${committedStr}`);
  await c1.disconnect();
  clients.splice(clients.indexOf(c1), 1);

  // ---- 4. restart in the same group: only new messages -----------------------------------
  await produce(producer, 2, PHASE1_PER_KEY, PHASE2_PER_KEY);
  const phase2Total = KEYS.length * PHASE2_PER_KEY;
  const received2 = [];
  const c1b = kafka.consumer({ groupId: G1 });
  clients.push(c1b);
  await c1b.connect();
  // fromBeginning only applies without committed offsets; the group has them.
  await c1b.subscribe({ topic: TOPIC, fromBeginning: true });
  await c1b.run({
    eachMessage: async ({ message }) => {
      received2.push(decode(message));
    },
  });
  await waitFor(`${phase2Total} new messages after restart`, () => received2.length >= phase2Total);
  await sleep(2000);
  const reRead = received2.filter((r) => r.phase !== 2).length;
  check(
    'restarted consumer resumes from committed offsets (no re-read)',
    reRead === 0 && received2.length === phase2Total,
    `${received2.length} received, ${reRead} already committed`,
  );
  checkOrder('phase 2', received2, PHASE1_PER_KEY, PHASE2_PER_KEY);
  await c1b.disconnect();
  clients.splice(clients.indexOf(c1b), 1);

  // ---- 5. two consumers in one group split the partitions --------------------------------
  const G2 = `proof-g2-${run}`;
  const members = ['A', 'B'].map((name) => ({ name, assignment: [], received: [] }));
  for (const m of members) {
    m.consumer = kafka.consumer({ groupId: G2 });
    clients.push(m.consumer);
    m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
      m.assignment = [...(e.payload.memberAssignment[TOPIC] ?? [])].sort();
    });
    await m.consumer.connect();
    await m.consumer.subscribe({ topic: TOPIC, fromBeginning: false });
    await m.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const v = decode(message);
        if (v.phase === 3) m.received.push({ ...v, partition });
      },
    });
  }
  const split = () => {
    const [a, b] = members.map((m) => m.assignment);
    const union = [...a, ...b].sort();
    return a.length > 0 && b.length > 0 && union.join() === '0,1,2';
  };
  await waitFor('both members of the group to hold disjoint assignments', split, 45_000);
  check(
    'two consumers in one group: partitions split',
    split(),
    members.map((m) => `${m.name}=[${m.assignment}]`).join(' '),
  );
  // Let the group settle (no more rebalances) before producing.
  await sleep(1500);
  await produce(producer, 3, PHASE1_PER_KEY + PHASE2_PER_KEY, PHASE3_PER_KEY);
  const phase3Total = KEYS.length * PHASE3_PER_KEY;
  await waitFor(
    `${phase3Total} messages across the two members`,
    () => members.reduce((s, m) => s + m.received.length, 0) >= phase3Total,
  );
  await sleep(1500);
  const total3 = members.reduce((s, m) => s + m.received.length, 0);
  const foreign = members.reduce((s, m) => s + m.received.filter((r) => !m.assignment.includes(r.partition)).length, 0);
  check(
    'each member receives only its partitions, together all, each some',
    total3 === phase3Total && foreign === 0 && members.every((m) => m.received.length > 0),
    members.map((m) => `${m.name} got ${m.received.length}`).join(', ') + `, total ${total3}/${phase3Total}`,
  );
  checkOrder(
    'phase 3 (split group)',
    members.flatMap((m) => m.received),
    PHASE1_PER_KEY + PHASE2_PER_KEY,
    PHASE3_PER_KEY,
  );
  for (const m of members) await m.consumer.disconnect();
  await producer.disconnect();

  // ---- cleanup -------------------------------------------------------------------------
  await admin.deleteTopics({ topics: [TOPIC] });
  await admin.deleteGroups([G1, G2]).catch(() => {});
  const left = await admin.listTopics();
  check('deleteTopics', !left.includes(TOPIC));
  await admin.disconnect();
} catch (err) {
  check(`unexpected error: ${err?.name}: ${err?.message}`, false);
  for (const c of clients) await c.disconnect().catch(() => {});
}

clearTimeout(overall);
const failed = results.filter((r) => !r.ok);
console.log(
  failed.length === 0
    ? `PASS: kafkajs ${kafkajsVersion}: ${results.length} checks passed in ${elapsed()}`
    : `FAIL: ${failed.length} of ${results.length} checks failed`,
);
process.exit(failed.length === 0 ? 0 : 1);
