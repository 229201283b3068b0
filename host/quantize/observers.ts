// Activation range observers: running min/max, or a histogram for percentile and MSE-optimal clipping.

/** How one tensor's range is taken from what it holds over the calibration data. */
export type RangeKind = 'minmax' | 'percentile' | 'mse';
/** A range kind for every tensor, or 'auto': per tensor, the kind whose range changes the model's output least (./range-search). */
export type ObserverKind = RangeKind | 'auto';

const BINS = 2048;

/** What an observer has seen, as a worker thread hands it back (structured-cloneable). */
export interface ObserverState {
  min: number;
  max: number;
  samples: Float32Array[];
}

export class RangeObserver {
  min = Infinity;
  max = -Infinity;
  private samples: Float32Array[] = [];
  constructor(
    readonly kind: RangeKind,
    readonly percentile = 99.99,
  ) {}

  observe(x: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      if (x[i] < this.min) this.min = x[i];
      if (x[i] > this.max) this.max = x[i];
    }
    if (this.kind !== 'minmax') this.samples.push(x.slice());
  }

  /** What this observer has seen (the kept samples are shared, not copied). */
  state(): ObserverState {
    return { min: this.min, max: this.max, samples: this.samples };
  }

  /** Adds what another observer of the same kind saw (on other samples of the same tensor). */
  merge(other: ObserverState): void {
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    for (const s of other.samples) this.samples.push(s);
  }

  /** The real range to quantize; always contains 0 (the TFLite spec needs an exact zero). */
  range(): [number, number] {
    let [lo, hi] = [Math.min(0, this.min), Math.max(0, this.max)];
    if (this.kind !== 'minmax' && hi > lo) [lo, hi] = this.clipped(lo, hi);
    return [Math.min(0, lo), Math.max(0, hi)];
  }

  private histogram(lo: number, hi: number): Float64Array {
    const h = new Float64Array(BINS);
    const w = (hi - lo) / BINS;
    for (const s of this.samples)
      for (let i = 0; i < s.length; i++) h[Math.min(BINS - 1, Math.floor((s[i] - lo) / w))]++;
    return h;
  }

  private clipped(lo: number, hi: number): [number, number] {
    const h = this.histogram(lo, hi);
    const w = (hi - lo) / BINS;
    const center = (b: number) => lo + (b + 0.5) * w;
    const total = h.reduce((a, b) => a + b, 0);
    if (this.kind === 'percentile') {
      const tail = (total * (100 - this.percentile)) / 200;
      let a = 0,
        b = BINS - 1,
        acc = 0;
      while (a < b && acc + h[a] <= tail) acc += h[a++];
      acc = 0;
      while (b > a && acc + h[b] <= tail) acc += h[b--];
      return [lo + a * w, lo + (b + 1) * w];
    }
    // MSE: shrink the range symmetrically in steps and keep the one with the least expected squared error.
    let best: [number, number] = [lo, hi];
    let bestErr = Infinity;
    for (let k = 0; k < 64; k++) {
      const f = 1 - k / 80;
      const [l, u] = [lo * f, hi * f];
      const step = (u - l) / 255;
      let err = 0;
      for (let b = 0; b < BINS; b++) {
        if (!h[b]) continue;
        const x = center(b);
        const q = Math.min(u, Math.max(l, l + Math.round((x - l) / step) * step));
        err += h[b] * (x - q) * (x - q);
      }
      if (err < bestErr) [bestErr, best] = [err, [l, u]];
    }
    return best;
  }
}
