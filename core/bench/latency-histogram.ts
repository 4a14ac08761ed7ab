/**
 * Latencies as a log-linear histogram (HdrHistogram's idea): exact to the microsecond below 1.024 ms,
 * then 64 buckets per power of two (at most 1/64 ≈ 1.6 % wide). A run of millions of operations
 * reports its percentiles in a few kilobytes, and the histograms of several processes add up.
 */

/** Buckets below this many µs are 1 µs wide. */
const LINEAR_US = 1024;
const LINEAR_BITS = 10;
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
/** Powers of two above the linear range that get buckets: up to 2^40 µs (12 days). */
const POWERS = 30;
const BUCKETS = LINEAR_US + POWERS * SUB_BUCKETS;

/** The JSON form: non-empty buckets as [index, count] pairs. */
export interface HistogramJson {
  readonly count: number;
  readonly maxMs: number;
  readonly buckets: readonly (readonly [number, number])[];
}

function bucketOf(us: number): number {
  if (us < LINEAR_US) return us;
  let power = Math.floor(Math.log2(us));
  if (2 ** power > us) power--; // log2 rounded up just below a power of two
  power = Math.min(power, LINEAR_BITS + POWERS - 1);
  const sub = Math.min(Math.floor(us / 2 ** (power - SUB_BUCKET_BITS)) - SUB_BUCKETS, SUB_BUCKETS - 1);
  return LINEAR_US + (power - LINEAR_BITS) * SUB_BUCKETS + sub;
}

/** The middle of a bucket, in µs. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR_US) return bucket;
  const power = LINEAR_BITS + Math.floor((bucket - LINEAR_US) / SUB_BUCKETS);
  const width = 2 ** (power - SUB_BUCKET_BITS);
  return (SUB_BUCKETS + ((bucket - LINEAR_US) % SUB_BUCKETS)) * width + width / 2;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  maxMs = 0;

  static fromJSON(json: HistogramJson): LatencyHistogram {
    const h = new LatencyHistogram();
    h.add(json);
    return h;
  }

  record(ms: number): void {
    this.counts[bucketOf(Math.max(0, Math.round(ms * 1000)))]!++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Adds another histogram's counts (another process's, in its JSON form). */
  add(other: HistogramJson): void {
    for (const [bucket, count] of other.buckets) this.counts[bucket]! += count;
    this.count += other.count;
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
  }

  /** The latency at rank ⌈p·count⌉ (p in 0..1), ms; the exact maximum for p = 1; NaN when empty. */
  percentileMs(p: number): number {
    if (this.count === 0) return NaN;
    if (p >= 1) return this.maxMs;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(valueOf(bucket) / 1000, this.maxMs);
    }
    return this.maxMs;
  }

  /** The percentiles a benchmark reports, ms. */
  summary(): { p50: number; p90: number; p99: number; max: number } {
    return { p50: this.percentileMs(0.5), p90: this.percentileMs(0.9), p99: this.percentileMs(0.99), max: this.maxMs };
  }

  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, bucket) => {
      if (count > 0) buckets.push([bucket, count]);
    });
    return { count: this.count, maxMs: this.maxMs, buckets };
  }
}
