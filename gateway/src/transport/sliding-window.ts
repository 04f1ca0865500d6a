/**
 * Two counts over the last `windowMs`, kept in ten buckets: a bucket older
 * than the window is emptied when its slot comes round again, so old calls
 * fall out in steps of a tenth of the window, with no timer running.
 */
export class SlidingWindow {
  private readonly bucketMs: number;
  private readonly buckets: { epoch: number; a: number; b: number }[];

  constructor(
    windowMs: number,
    private readonly now: () => number,
    count = 10,
  ) {
    this.bucketMs = Math.max(1, windowMs / count);
    this.buckets = Array.from({ length: count }, () => ({ epoch: -1, a: 0, b: 0 }));
  }

  add(a: number, b: number): void {
    const bucket = this.current();
    bucket.a += a;
    bucket.b += b;
  }

  /** The counts of the window ending now. */
  totals(): { a: number; b: number } {
    const epoch = Math.floor(this.now() / this.bucketMs);
    let a = 0;
    let b = 0;
    for (const bucket of this.buckets) {
      if (epoch - bucket.epoch < this.buckets.length) {
        a += bucket.a;
        b += bucket.b;
      }
    }
    return { a, b };
  }

  clear(): void {
    for (const bucket of this.buckets) Object.assign(bucket, { epoch: -1, a: 0, b: 0 });
  }

  private current() {
    const epoch = Math.floor(this.now() / this.bucketMs);
    const bucket = this.buckets[epoch % this.buckets.length]!;
    if (bucket.epoch !== epoch) {
      bucket.epoch = epoch;
      bucket.a = 0;
      bucket.b = 0;
    }
    return bucket;
  }
}
