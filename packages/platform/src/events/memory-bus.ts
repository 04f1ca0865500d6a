import type { Logger } from '../logger/logger.ts';
import type { ConsumeOptions, ConsumerHandle, EventBus, PartitionLag } from './bus.ts';
import { deliverWithRetry } from './deliver.ts';
import { deadLetterTopic, type EventEnvelope } from './envelope.ts';
import { partitionFor } from './partition.ts';

/**
 * The embedded event bus: Kafka's semantics in one process, for `npm start`
 * with nothing installed. Topics are partitioned logs keyed by aggregate id,
 * each consumer group keeps its own committed offset per partition and each
 * partition is worked by one member at a time, so ordering per key,
 * at-least-once delivery and group fan-out behave as on Kafka.
 * Nothing survives a restart, which the embedded default accepts.
 */
interface Member {
  options: ConsumeOptions;
  inFlight: Set<Promise<void>>;
  stopped: boolean;
}

interface Group {
  members: Member[];
  /** `${topic}#${partition}` → next offset to deliver. */
  committed: Map<string, number>;
  workers: Set<string>;
  /** An ephemeral group whose consumer stopped: its workers end and it is forgotten. */
  deleted?: boolean;
}

/** The embedded bus never gives up on a consumer (see ConsumerHandle.failed). */
const NEVER = new Promise<Error>(() => {});

export class MemoryEventBus implements EventBus {
  readonly kind = 'memory' as const;
  private readonly logs = new Map<string, EventEnvelope[][]>();
  private readonly groups = new Map<string, Group>();
  /** When each stored event was published (ConsumeOptions.startAt), kept beside the log rather than in it. */
  private readonly publishedAt = new WeakMap<EventEnvelope, number>();
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly partitions = 3,
  ) {}

  async ensureTopics(topics: string[]): Promise<void> {
    for (const topic of topics) {
      this.log(topic);
      this.log(deadLetterTopic(topic));
    }
  }

  async publish(topic: string, events: EventEnvelope[]): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
    const partitions = this.log(topic);
    const now = Date.now();
    for (const event of events) {
      // A serialisation round trip, as on the wire: consumers never share objects with producers.
      const stored = JSON.parse(JSON.stringify(event)) as EventEnvelope;
      this.publishedAt.set(stored, now);
      partitions[partitionFor(event.aggregateId, partitions.length)]!.push(stored);
    }
    this.wake();
  }

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    const group: Group = this.groups.get(options.groupId) ?? { members: [], committed: new Map(), workers: new Set() };
    this.groups.set(options.groupId, group);
    const member: Member = { options, inFlight: new Set(), stopped: false };
    group.members.push(member);

    for (const topic of options.topics) {
      const partitions = this.log(topic);
      partitions.forEach((log, partition) => {
        const key = `${topic}#${partition}`;
        if (!group.committed.has(key)) group.committed.set(key, this.startOf(log, options));
        if (!group.workers.has(key)) {
          group.workers.add(key);
          void this.work(group, topic, partition);
        }
      });
    }
    this.wake(); // idle partitions may now have an owner
    return {
      // In its group from the start and nothing here can crash it: running until stopped.
      state: () => (member.stopped ? 'stopped' : 'running'),
      failed: NEVER,
      stop: async () => {
        member.stopped = true;
        group.members = group.members.filter((m) => m !== member);
        await Promise.allSettled([...member.inFlight]);
        if (options.ephemeral && group.members.length === 0 && this.groups.get(options.groupId) === group) {
          group.deleted = true;
          this.groups.delete(options.groupId);
        }
        this.wake(); // let another member pick up its partitions
      },
    };
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const group = this.groups.get(groupId);
    return topics.flatMap((topic) =>
      this.log(topic).map((log, partition) => ({
        topic,
        partition,
        lag: log.length - (group?.committed.get(`${topic}#${partition}`) ?? 0),
      })),
    );
  }

  async topicSizes(topics: string[]): Promise<Record<string, number>> {
    // Nothing is ever deleted from the embedded logs: a topic holds all it was sent.
    return Object.fromEntries(topics.map((topic) => [topic, this.log(topic).reduce((n, log) => n + log.length, 0)]));
  }

  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.groups.values()].flatMap((g) => g.members);
    for (const m of members) m.stopped = true;
    await Promise.allSettled(members.flatMap((m) => [...m.inFlight]));
    this.wake();
  }

  /** Every event published so far on a topic, in partition order (for tests and tooling). */
  read(topic: string): EventEnvelope[] {
    return this.log(topic).flat();
  }

  /** Where a group that has never committed starts reading a partition's log (ConsumeOptions). */
  private startOf(log: EventEnvelope[], options: ConsumeOptions): number {
    if (options.startAt !== undefined) {
      const first = log.findIndex((event) => (this.publishedAt.get(event) ?? 0) >= options.startAt!);
      return first < 0 ? log.length : first;
    }
    return options.fromBeginning === false ? log.length : 0;
  }

  private log(topic: string): EventEnvelope[][] {
    let partitions = this.logs.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: this.partitions }, () => []);
      this.logs.set(topic, partitions);
    }
    return partitions;
  }

  /** The partition's owner: members subscribed to the topic share partitions round-robin. */
  private owner(group: Group, topic: string, partition: number): Member | undefined {
    const candidates = group.members.filter((m) => !m.stopped && m.options.topics.includes(topic));
    return candidates[partition % Math.max(candidates.length, 1)];
  }

  private async work(group: Group, topic: string, partition: number): Promise<void> {
    const key = `${topic}#${partition}`;
    const log = this.log(topic)[partition]!;
    while (!this.closed && !group.deleted) {
      const offset = group.committed.get(key)!;
      const member = this.owner(group, topic, partition);
      if (!member || offset >= log.length) {
        await new Promise<void>((resolve) => this.waiters.add(resolve));
        continue;
      }
      const delivery = deliverWithRetry(
        { topic, partition, offset: String(offset), event: log[offset]! },
        member.options,
        (t, events) => this.publish(t, events),
        this.logger,
        () => member.stopped || this.closed,
      );
      member.inFlight.add(delivery);
      try {
        await delivery;
        group.committed.set(key, offset + 1);
      } catch {
        // Stopped mid-retry: the offset stays, the next owner gets the event again.
      } finally {
        member.inFlight.delete(delivery);
      }
    }
  }

  private wake(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiting) resolve();
  }
}
