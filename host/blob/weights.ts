// Packed and sparse weight storage (schema/morsel.fbs, WeightLayout): int8 values ↔ the bytes of a buffer.
// The encoder packs the weights of FULLY_CONNECTED and CONV_2D at their tensor's `weightBits` and stores each in
// one of DENSE, BITMASK, RUN_LENGTH and CSR, chosen for the goal of `--optimize` (size, speed or balanced) from the
// measured cost of each layout on each engine (./layout-costs).

import type { QModel, WeightBits } from '../ir/qmodel';
import { BlobFormatError } from './flatbuffer';
import { LAYOUT_COSTS } from './layout-costs';

export const WEIGHT_LAYOUTS = ['dense', 'bitmask', 'run_length', 'csr'] as const;
export type WeightLayout = (typeof WEIGHT_LAYOUTS)[number];

export interface StoredWeights {
  layout: WeightLayout;
  bits: WeightBits;
  /** Values stored (sparse layouts; every value for DENSE). */
  stored: number;
  /** RUN_LENGTH: bits per run code. */
  runBits?: RunBits;
  bytes: Uint8Array;
}

export type RunBits = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
const RUN_BITS: RunBits[] = [1, 2, 3, 4, 5, 6, 7, 8];

/** The range of a signed `bits`-bit value. */
export const bitsRange = (bits: number): [number, number] => [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];

/** `values` as a little-endian stream of `bits`-bit fields (value i in bits i·bits …), from the first byte on. */
function pack(values: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const p = i * bits,
      v = values[i] & mask;
    out[p >> 3] |= (v << (p & 7)) & 255;
    if ((p & 7) + bits > 8) out[(p >> 3) + 1] |= v >> (8 - (p & 7));
  }
  return out;
}

/** Field i (unsigned) of a stream written by pack. */
function fieldAt(bytes: Uint8Array, at: number, i: number, bits: number): number {
  const p = i * bits,
    b = at + (p >> 3);
  const u = (p & 7) + bits > 8 ? bytes[b] | (bytes[b + 1] << 8) : bytes[b];
  return (u >> (p & 7)) & ((1 << bits) - 1);
}

function unpack(bytes: Uint8Array, at: number, count: number, bits: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const u = fieldAt(bytes, at, i, bits);
    out[i] = u >= 1 << (bits - 1) ? u - (1 << bits) : u;
  }
  return out;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
};

/** Every layout that can hold `values` ([rows, depth] row-major), each encoded. */
export function encodeWeightsAll(values: Int8Array, rows: number, bits: WeightBits): StoredWeights[] {
  const [lo, hi] = bitsRange(bits);
  const depth = values.length / rows;
  const nonzero: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo || values[i] > hi)
      throw new Error(`weight ${values[i]} at ${i} does not fit in ${bits} bits (${lo}..${hi})`);
    if (values[i] !== 0) nonzero.push(i);
  }
  const nzValues = nonzero.map((i) => values[i]);
  const out: StoredWeights[] = [{ layout: 'dense', bits, stored: values.length, bytes: pack(values, bits) }];

  const mask = new Uint8Array(Math.ceil(values.length / 8));
  for (const i of nonzero) mask[i >> 3] |= 1 << (i & 7);
  out.push({ layout: 'bitmask', bits, stored: nonzero.length, bytes: concat(mask, pack(nzValues, bits)) });

  for (const runBits of RUN_BITS) {
    const escapeCode = 2 ** runBits - 1;
    const codes: number[] = [];
    let last = -1;
    for (const i of nonzero) {
      let gap = i - last - 1;
      for (; gap >= escapeCode; gap -= escapeCode) codes.push(escapeCode);
      codes.push(gap);
      last = i;
    }
    out.push({
      layout: 'run_length',
      bits,
      stored: nonzero.length,
      runBits,
      bytes: concat(pack(nzValues, bits), pack(codes, runBits)),
    });
  }

  if (depth <= 65535) {
    const perRow = new Array<number>(rows).fill(0);
    for (const i of nonzero) perRow[Math.floor(i / depth)]++;
    const counts = new Uint8Array(2 * rows);
    perRow.forEach((n, r) => ((counts[2 * r] = n & 255), (counts[2 * r + 1] = n >> 8)));
    const colBytes = depth <= 256 ? 1 : 2;
    const cols = new Uint8Array(colBytes * nonzero.length);
    nonzero.forEach((i, j) => {
      const c = i % depth;
      cols[colBytes * j] = c & 255;
      if (colBytes === 2) cols[colBytes * j + 1] = c >> 8;
    });
    out.push({ layout: 'csr', bits, stored: nonzero.length, bytes: concat(counts, cols, pack(nzValues, bits)) });
  }
  return out;
}

/** DENSE unless a sparse layout is strictly smaller (DENSE comes first in `all`). */
const smallest = (all: StoredWeights[]): StoredWeights =>
  all.reduce((best, s) => (s.bytes.length < best.bytes.length ? s : best));

/** Bytes → int8 values, checking every length and index (the device checks the same at load). */
export function decodeWeights(s: StoredWeights, count: number, rows: number, what: string): Int8Array {
  const { bytes, bits, stored, layout } = s;
  const depth = count / rows;
  const valueBytes = (m: number) => Math.ceil((m * bits) / 8);
  const need = (n: number) => {
    if (bytes.length !== n)
      throw new BlobFormatError(
        `${what}: ${layout} weights at ${bits} bits need ${n} bytes, the buffer has ${bytes.length}`,
      );
  };
  if (layout === 'dense') {
    need(valueBytes(count));
    return unpack(bytes, 0, count, bits);
  }
  if (!(stored >= 0 && stored <= count))
    throw new BlobFormatError(`${what}: ${stored} stored values for ${count} weights`);
  const out = new Int8Array(count);
  if (layout === 'bitmask') {
    const maskBytes = Math.ceil(count / 8);
    need(maskBytes + valueBytes(stored));
    const v = unpack(bytes, maskBytes, stored, bits);
    let j = 0;
    for (let i = 0; i < count; i++) {
      if ((bytes[i >> 3] >> (i & 7)) & 1) {
        if (j >= stored) throw new BlobFormatError(`${what}: the bitmask marks more than ${stored} values`);
        out[i] = v[j++];
      }
    }
    if (j !== stored) throw new BlobFormatError(`${what}: the bitmask marks ${j} values, ${stored} stored`);
  } else if (layout === 'run_length') {
    const runBits = s.runBits ?? 4;
    if (!RUN_BITS.includes(runBits)) throw new BlobFormatError(`${what}: ${runBits}-bit run codes`);
    const escapeCode = 2 ** runBits - 1;
    const at = valueBytes(stored);
    const v = unpack(bytes, 0, stored, bits);
    const codes = Math.floor(((bytes.length - at) * 8) / runBits);
    let pos = 0,
      j = 0,
      e = 0;
    for (; j < stored && e < codes; e++) {
      const c = fieldAt(bytes, at, e, runBits);
      pos += c;
      if (c === escapeCode) continue;
      if (pos >= count) throw new BlobFormatError(`${what}: run-length value ${j} lies past the last weight`);
      out[pos++] = v[j++];
    }
    if (j < stored) throw new BlobFormatError(`${what}: the run codes place ${j} of ${stored} values`);
    need(at + Math.ceil((e * runBits) / 8));
  } else {
    const colBytes = depth <= 256 ? 1 : 2;
    need(2 * rows + colBytes * stored + valueBytes(stored));
    const v = unpack(bytes, 2 * rows + colBytes * stored, stored, bits);
    let j = 0;
    for (let r = 0; r < rows; r++) {
      const n = bytes[2 * r] + 256 * bytes[2 * r + 1];
      if (j + n > stored) throw new BlobFormatError(`${what}: CSR row counts exceed the ${stored} stored values`);
      for (let e = 0; e < n; e++, j++) {
        const at = 2 * rows + colBytes * j;
        const c = colBytes === 1 ? bytes[at] : bytes[at] + 256 * bytes[at + 1];
        if (c >= depth) throw new BlobFormatError(`${what}: CSR column ${c} outside a row of ${depth}`);
        out[r * depth + c] = v[j];
      }
    }
    if (j !== stored) throw new BlobFormatError(`${what}: CSR row counts sum to ${j}, ${stored} stored`);
  }
  return out;
}

/** Tensor index → how many rows its weights have, for every tensor the encoder may pack. */
export function packableWeights(model: QModel): Map<number, number> {
  return new Map([...weightWalks(model)].map(([ti, w]) => [ti, w.rows]));
}

/** Per packable tensor: its rows, and how many times an inference walks all of them (output pixels or batch rows). */
function weightWalks(model: QModel): Map<number, { rows: number; walks: number }> {
  const out = new Map<number, { rows: number; walks: number }>();
  for (const op of model.ops) {
    if (op.opcode !== 'FULLY_CONNECTED' && op.opcode !== 'CONV_2D') continue;
    const t = model.tensors[op.inputs[1]];
    const y = model.tensors[op.outputs[0]];
    if (!t?.data || t.type !== 'int8') continue;
    const walks = (y ? y.shape.reduce((a, b) => a * b, 1) : t.shape[0]) / t.shape[0];
    const seen = out.get(op.inputs[1]);
    out.set(op.inputs[1], { rows: t.shape[0], walks: (seen?.walks ?? 0) + walks });
  }
  return out;
}

/**
 * What `--optimize` trades: 'size' stores every weight tensor in its smallest layout, 'speed' keeps all dense, and
 * 'balanced' takes the bytes sparse layouts save only where the weight layers stay within 2% of their dense time on
 * every engine of the cost model (layers where a sparse layout is faster take it whatever its size).
 */
export const OPTIMIZE_GOALS = ['size', 'speed', 'balanced'] as const;
export type OptimizeGoal = (typeof OPTIMIZE_GOALS)[number];
const BALANCED_SLOWDOWN = 0.02;

/** Nanoseconds per inference that `s` costs on `engine` when walked `walks` times (./layout-costs). */
function layoutTime(engine: string, s: StoredWeights, count: number, walks: number): number {
  const [perWeight, perValue] = LAYOUT_COSTS[engine][s.bits][s.layout];
  return walks * (perWeight * count + perValue * (s.layout === 'dense' ? 0 : s.stored));
}

/**
 * How the encoder stores each packable weight tensor of `model`: in `layout` where that fits (tests and
 * experiments), else as `goal` asks (default balanced).
 */
export function storedWeightsOf(
  model: QModel,
  layout?: WeightLayout,
  goal: OptimizeGoal = 'balanced',
): Map<number, StoredWeights> {
  const options = new Map<number, { all: StoredWeights[]; count: number; walks: number }>();
  for (const [ti, { rows, walks }] of weightWalks(model)) {
    const t = model.tensors[ti];
    const all = encodeWeightsAll(t.data as Int8Array, rows, t.weightBits ?? 8);
    const wanted = all.filter((s) => s.layout === layout);
    options.set(ti, { all: wanted.length ? wanted : all, count: t.data!.length, walks });
  }
  const out = new Map<number, StoredWeights>();
  for (const [ti, o] of options) out.set(ti, layout || goal === 'size' ? smallest(o.all) : o.all[0]);
  if (layout || goal !== 'balanced') return out;
  const engines = Object.keys(LAYOUT_COSTS);
  const time = (ti: number, s: StoredWeights) => {
    const o = options.get(ti)!;
    return engines.map((e) => layoutTime(e, s, o.count, o.walks));
  };
  // Free first: per tensor, the smallest layout no slower than dense on any engine.
  for (const [ti, o] of options) {
    const dense = time(ti, o.all[0]);
    out.set(ti, smallest(o.all.filter((s) => time(ti, s).every((t, e) => t <= dense[e]))));
  }
  // Then, most bytes saved per share of the budget first, whatever still fits in every engine's budget.
  const budget = engines.map(
    (_, e) => BALANCED_SLOWDOWN * [...options.keys()].reduce((a, ti) => a + time(ti, options.get(ti)!.all[0])[e], 0),
  );
  const spent = engines.map(() => 0);
  for (;;) {
    let best: { ti: number; s: StoredWeights; extra: number[]; value: number } | undefined;
    for (const [ti, o] of options) {
      const now = out.get(ti)!;
      const before = time(ti, now);
      for (const s of o.all) {
        const saved = now.bytes.length - s.bytes.length;
        if (saved <= 0) continue;
        const extra = time(ti, s).map((t, e) => t - before[e]);
        if (extra.some((x, e) => spent[e] + x > budget[e])) continue;
        const value = saved / Math.max(1e-9, ...extra.map((x, e) => x / budget[e]));
        if (!best || value > best.value) best = { ti, s, extra, value };
      }
    }
    if (!best) return out;
    out.set(best.ti, best.s);
    best.extra.forEach((x, e) => (spent[e] += x));
  }
}
