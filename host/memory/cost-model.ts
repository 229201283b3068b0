// Predicts a model's RAM on an ESP32 firmware from the counts in features.ts, with per-engine coefficients
// measured on real engine builds (measured.ts, written by `node dist/tools/measure-memory.js`): runtime + prepared
// model + arena (+ the blob where the engine cannot read it in place). `morsel inspect --target` prints it;
// `convert` and `flash` warn when a model will not fit.

import type { QModel } from '../ir/qmodel';
import { type Feature, type Features, memoryFeatures } from './features';
import { MEASURED } from './measured';

export type MeasuredEngine = 'espruino' | 'jerryscript' | 'lua5.1';

export interface EngineCost {
  unit: 'variables' | 'bytes';
  /** The runtime bundle loaded, before any model. */
  base: number;
  /** Per unit of each feature; features absent here cost nothing on this engine. */
  coefficients: Partial<Record<Feature, number>>;
  /** Espruino: bytes per variable of the build measured (byte-sized features scale with it). */
  blocksize?: number;
  /** What was measured, and the command that measures it again. */
  build: string;
  command: string;
  /** Each model measured (after load and one inference); its features are recomputed from the model. */
  samples: { model: string; measured: number }[];
}

export type TargetName = 'espruino-esp32' | 'jerryscript-esp32' | 'nodemcu-esp32';

export interface Target {
  name: TargetName;
  engine: MeasuredEngine;
  unit: 'variables' | 'bytes';
  /** The pool (Espruino variables) or heap (bytes) the firmware has. */
  capacity: number;
  /** Espruino on ESP32: 14 bytes per variable (boards/ESP32.py, 16,383 variables). */
  blocksize?: number;
  /** Where the blob lives at run time. */
  blob: string;
}

export const TARGETS: Target[] = [
  {
    name: 'espruino-esp32',
    engine: 'espruino',
    unit: 'variables',
    capacity: 16383,
    blocksize: 14,
    blob: 'in Storage (memory-mapped flash, read in place)',
  },
  {
    name: 'jerryscript-esp32',
    engine: 'jerryscript',
    unit: 'bytes',
    capacity: 128 * 1024,
    blob: 'in flash, an external ArrayBuffer over the mapping (device/ports/jerryscript)',
  },
  {
    name: 'nodemcu-esp32',
    engine: 'lua5.1',
    unit: 'bytes',
    capacity: 100 * 1024,
    blob: "in flash (a SPIFFS file), read in place in 512-byte windows (4 KB of RAM); the model's own runtime (morsel bundle --target lua), its bytecode in LFS",
  },
];

export const TARGET_NAMES = TARGETS.map((t) => t.name);

/** The target a board's HELLO engine name stands for (an emulated board in node or QuickJS has none). */
export function targetForBoard(engine: string): Target | undefined {
  if (engine === 'espruino' || engine === 'jerryscript') return findTarget(`${engine}-esp32`);
  if (engine === 'nodemcu' || engine.startsWith('lua')) return findTarget('nodemcu-esp32');
  return undefined;
}

export interface MemoryPrediction {
  target: string;
  unit: 'variables' | 'bytes';
  capacity: number;
  runtime: number;
  model: number;
  total: number;
  free: number;
  /** free / capacity */
  freeFraction: number;
  fits: boolean;
  blob: string;
}

/** The cost of `features` on an engine, in its unit; byte-sized features are rescaled to the target's variables. */
export function modelCost(cost: EngineCost, features: Features, targetBlocksize?: number): number {
  const scale = cost.blocksize && targetBlocksize ? cost.blocksize / targetBlocksize : 1;
  let total = 0;
  for (const [feature, k] of Object.entries(cost.coefficients) as [Feature, number][]) {
    const bytesSized = feature === 'arenaBytes' || feature === 'blobBytes';
    total += k * features[feature] * (bytesSized ? scale : 1);
  }
  return total;
}

export function findTarget(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** blocksize: Espruino's bytes per variable, the target's unless asked for another build's (a 64-bit Linux one). */
export function predictMemory(
  model: QModel,
  blobBytes: number,
  target: Target,
  blocksize = target.blocksize,
): MemoryPrediction {
  const cost = MEASURED[target.engine];
  const features = memoryFeatures(model, blobBytes);
  const runtime = Math.round(cost.base);
  const modelPart = Math.round(modelCost(cost, features, blocksize));
  const total = runtime + modelPart;
  return {
    target: target.name,
    unit: target.unit,
    capacity: target.capacity,
    runtime,
    model: modelPart,
    total,
    free: target.capacity - total,
    freeFraction: (target.capacity - total) / target.capacity,
    fits: total <= target.capacity,
    blob: target.blob,
  };
}

const amount = (n: number, unit: string) =>
  unit === 'bytes' ? `${(n / 1024).toFixed(1)} KB` : `${n.toLocaleString('en-US')} variables`;

export function formatPrediction(p: MemoryPrediction): string {
  const verdict = !p.fits
    ? 'does NOT fit'
    : p.freeFraction < LOAD_HEADROOM
      ? `${(100 * p.freeFraction).toFixed(0)}% free: too little for the load's peak`
      : `fits, ${(100 * p.freeFraction).toFixed(0)}% free`;
  return [
    `${p.target}: ${amount(p.total, p.unit)} of ${amount(p.capacity, p.unit)} (${verdict})`,
    `  runtime ${amount(p.runtime, p.unit)} + model ${amount(p.model, p.unit)} (prepared ops, arena); blob ${p.blob}`,
  ].join('\n');
}

/**
 * The share of the pool a model should leave free after load: the prediction is what stays allocated, and
 * loading peaks above it (JerryScript allocates typed-array storage on first write and fragments; ResNet-8
 * leaves a predicted 22% of the 128 KB heap and fails its first inference).
 */
export const LOAD_HEADROOM = 0.25;

/** One line per target in `names` where the model will not fit, or fits with less than LOAD_HEADROOM free. */
export function memoryWarnings(model: QModel, blobBytes: number, names: string[]): string[] {
  return names
    .map((n) => predictMemory(model, blobBytes, findTarget(n)!))
    .filter((p) => p.freeFraction < LOAD_HEADROOM)
    .map((p) =>
      p.fits
        ? `warning: the model leaves ~${(100 * p.freeFraction).toFixed(0)}% of RAM free on ${p.target} after load (${amount(p.total, p.unit)} of ${amount(p.capacity, p.unit)}); loading may run out of memory (morsel inspect --target ${p.target})`
        : `warning: the model needs ~${amount(p.total, p.unit)} of RAM on ${p.target}, which has ${amount(p.capacity, p.unit)} (morsel inspect --target ${p.target})`,
    );
}

/**
 * Least-squares coefficients for `features` (model cost = measured − base), non-negative: a feature whose
 * coefficient comes out negative is dropped and the rest refitted.
 */
export function fitCoefficients(
  samples: { features: Features; cost: number }[],
  features: Feature[],
): Partial<Record<Feature, number>> {
  let active = [...features];
  for (;;) {
    const k = leastSquares(
      samples.map((s) => active.map((f) => s.features[f])),
      samples.map((s) => s.cost),
    );
    const negative = k.findIndex((v) => v < 0);
    if (negative < 0) return Object.fromEntries(active.map((f, i) => [f, k[i]]));
    active = active.filter((_, i) => i !== negative);
  }
}

/**
 * Solves min ‖Xk − y‖ through the normal equations (a handful of features). Columns are scaled to unit maximum
 * first (bytes and op counts differ by 10^4), and a tiny ridge keeps a feature the samples cannot tell apart at 0.
 */
function leastSquares(x: number[][], y: number[]): number[] {
  const n = x[0]?.length ?? 0;
  const scale = Array.from({ length: n }, (_, j) => Math.max(1e-12, ...x.map((row) => Math.abs(row[j]))));
  const xs = x.map((row) => row.map((v, j) => v / scale[j]));
  const a = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => xs.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 1e-9 : 0)),
    xs.reduce((s, row, r) => s + row[i] * y[r], 0),
  ]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row, i) => row[n] / row[i] / scale[i]);
}
