/**
 * Latency histogram with fixed 10 µs buckets up to 5 s (beyond that, one
 * overflow bucket). Cheap to record into and to merge across processes.
 */
const BUCKET_US = 10;
const BUCKETS = 500_000;

export class Histogram {
  readonly counts = new Uint32Array(BUCKETS + 1);
  total = 0;
  maxUs = 0;

  recordMs(ms: number): void {
    const us = ms * 1000;
    let b = Math.floor(us / BUCKET_US);
    if (b > BUCKETS) b = BUCKETS;
    this.counts[b]!++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Sparse form for IPC: [bucket, count, bucket, count, ...]. */
  toSparse(): number[] {
    const out: number[] = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) if (c[i] !== 0) out.push(i, c[i]!);
    return out;
  }

  addSparse(sparse: readonly number[], maxUs: number): void {
    for (let i = 0; i + 1 < sparse.length; i += 2) {
      this.counts[sparse[i]!]! += sparse[i + 1]!;
      this.total += sparse[i + 1]!;
    }
    if (maxUs > this.maxUs) this.maxUs = maxUs;
  }

  /** The q-quantile (0..1) in milliseconds, at the upper edge of its bucket. */
  quantileMs(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      seen += c[i]!;
      if (seen >= rank) return i >= BUCKETS ? this.maxUs / 1000 : ((i + 1) * BUCKET_US) / 1000;
    }
    return this.maxUs / 1000;
  }
}
