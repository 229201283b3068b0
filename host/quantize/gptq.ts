// Calibration-aware weight rounding: GPTQ (Frantar et al. 2023, after Optimal Brain Quantization, Frantar &
// Alistarh 2022). Rounding each weight to nearest ignores what the weights multiply; GPTQ rounds a channel's
// weights one tap at a time and moves each rounding error onto the taps not yet rounded, in proportion to how
// their inputs correlate over calibration data (the inverse of H = Σ x·xᵀ over every input patch x), so that the
// layer's output on that data changes as little as possible. The scales stay those of weightScales, and the
// result is ordinary per-channel int8 weights: the int8 model stays bit-exact between host and device.

import { type Graph, ModelError, type Node, tensor } from '../ir/graph';
import { runFloat } from '../interp/float';
import type { CalibrationSample } from './calibrate';
import { roundWeight, weightScales } from './quantize';
import { forEachPatch, tapGeometry, type TapGeometry } from './taps';

/** Damping added to H's diagonal, relative to its mean (GPTQ's default): keeps H invertible and the updates tame. */
const DAMPING = 0.01;

/** Calibration samples that H is collected over (GPTQ used 128): past a few hundred it hardly changes, the time does. */
export const GPTQ_SAMPLES = 256;

/** One layer's Hessian(s): a d×d H shared by every channel, or (depthwise) one kH·kW square per input channel. */
interface LayerHessian {
  node: Node;
  weights: string;
  taps: TapGeometry;
  depthwise: boolean;
  size: number;
  h: Float64Array;
}

function collectHessians(g: Graph, samples: CalibrationSample[], layers: LayerHessian[]): void {
  const readers = new Map<string, LayerHessian[]>();
  for (const l of layers) readers.set(l.node.op.inputs[0], [...(readers.get(l.node.op.inputs[0]) ?? []), l]);
  const nonzero = new Int32Array(layers.reduce((m, l) => Math.max(m, l.taps.kH * l.taps.kW * l.taps.inC), 0));
  for (const s of samples) {
    const feeds = s instanceof Float32Array ? { [g.inputs[0]]: s } : s;
    runFloat(g, feeds, (name, x) => {
      for (const l of readers.get(name) ?? []) {
        const { h, size } = l;
        if (l.depthwise) {
          const inC = l.taps.inC;
          forEachPatch(x, l.taps, (p) => {
            for (let c = 0; c < inC; c++) {
              const base = c * size * size;
              for (let i = 0; i < size; i++) {
                const pi = p[i * inC + c];
                if (pi !== 0) for (let j = i; j < size; j++) h[base + i * size + j] += pi * p[j * inC + c];
              }
            }
          });
        } else {
          // Inputs after ReLU are mostly zero: only the nonzero pairs add anything.
          forEachPatch(x, l.taps, (p) => {
            let n = 0;
            for (let i = 0; i < size; i++) if (p[i] !== 0) nonzero[n++] = i;
            for (let a = 0; a < n; a++) {
              const i = nonzero[a];
              const row = i * size;
              const pi = p[i];
              for (let b = a; b < n; b++) h[row + nonzero[b]] += pi * p[nonzero[b]];
            }
          });
        }
      }
    });
  }
}

/** Lower-triangular L with a = L·Lᵀ (a symmetric positive definite, n×n, upper triangle read). */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0)) throw new ModelError("GPTQ: the calibration inputs' Hessian is not positive definite");
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = a[j * n + i];
      for (let k = 0; k < j; k++) v -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = v / ljj;
    }
  }
  return l;
}

/** Upper-triangular U with H⁻¹ = Uᵀ·U, for the damped H (upper triangle given): GPTQ's update rows. */
function inverseCholeskyUpper(h: Float64Array, n: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += h[i * n + i];
  const damp = mean > 0 ? (DAMPING * mean) / n : 1;
  const a = Float64Array.from(h);
  for (let i = 0; i < n; i++) a[i * n + i] += damp;
  const l = cholesky(a, n);
  // L⁻¹ (lower), then H⁻¹ = L⁻ᵀ·L⁻¹ (only its upper triangle is needed by cholesky).
  const li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    li[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let v = 0;
      for (let k = j; k < i; k++) v -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = v / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let v = 0;
      for (let k = j; k < n; k++) v += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = v;
    }
  }
  const l2 = cholesky(inv, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = l2[j * n + i];
  return u;
}

/** GPTQ on one channel's weights (modified in place) given U (n×n, upper); returns the int8 values. */
function roundChannel(w: Float64Array, scale: number, u: Float64Array, n: number): Int8Array {
  const q = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    q[i] = roundWeight(w[i], scale);
    const err = (w[i] - q[i] * scale) / u[i * n + i];
    for (let j = i + 1; j < n; j++) w[j] -= err * u[i * n + j];
  }
  return q;
}

/** GPTQ-rounded int8 weights for every conv, depthwise conv and dense node with float weights, by tensor name. */
export function gptqWeights(g: Graph, samples: CalibrationSample[]): Map<string, Int8Array> {
  if (samples.length === 0) throw new ModelError('GPTQ weight rounding needs calibration data (give --calib <data>)');
  const layers: LayerHessian[] = [];
  for (const node of g.nodes) {
    const op = node.op;
    if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d' && op.kind !== 'dense') continue;
    const wt = tensor(g, op.inputs[1]);
    if (!(wt.data instanceof Float32Array) || wt.quant) continue;
    const taps = tapGeometry(g, node);
    const depthwise = op.kind === 'depthwise_conv2d';
    const size = depthwise ? taps.kH * taps.kW : taps.kH * taps.kW * taps.inC;
    layers.push({
      node,
      weights: wt.name,
      taps,
      depthwise,
      size,
      h: new Float64Array((depthwise ? taps.inC : 1) * size * size),
    });
  }
  collectHessians(g, samples.slice(0, GPTQ_SAMPLES), layers);
  const rounded = new Map<string, Int8Array>();
  for (const { weights, taps, depthwise, size, h } of layers) {
    const wt = tensor(g, weights);
    const w = wt.data as Float32Array;
    const q = new Int8Array(w.length);
    if (depthwise) {
      // Weights [1, kH, kW, out]; channel oc reads input channel oc / multiplier.
      const scales = weightScales(wt, 3);
      const outC = scales.length;
      const multiplier = outC / taps.inC;
      const us = Array.from({ length: taps.inC }, (_, c) =>
        inverseCholeskyUpper(h.subarray(c * size * size, (c + 1) * size * size), size),
      );
      for (let oc = 0; oc < outC; oc++) {
        const row = Float64Array.from({ length: size }, (_, t) => w[t * outC + oc]);
        const qr = roundChannel(row, scales[oc], us[Math.floor(oc / multiplier)], size);
        for (let t = 0; t < size; t++) q[t * outC + oc] = qr[t];
      }
    } else {
      const scales = weightScales(wt, 0);
      const u = inverseCholeskyUpper(h, size);
      for (let oc = 0; oc < scales.length; oc++)
        q.set(roundChannel(Float64Array.from(w.subarray(oc * size, (oc + 1) * size)), scales[oc], u, size), oc * size);
    }
    rounded.set(wt.name, q);
  }
  return rounded;
}
