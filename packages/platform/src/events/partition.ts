import { createHash } from 'node:crypto';

/** Stable key → partition mapping for the in-process bus (Kafka uses its own murmur2). */
export function partitionFor(key: string, partitions: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
}
