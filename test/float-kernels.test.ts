import { strict as assert } from 'assert';
import * as path from 'path';
import { importModel } from '../host/import';
import { readTfliteFile } from '../host/import/tflite';
import { tfliteToGraph } from '../host/import/tflite/to-graph';
import { type ConvGeometry, conv2dFloat, depthwiseConv2dFloat, matmulRows } from '../host/interp/float-kernels';
import { runFloat } from '../host/interp/float';
import { type Graph, type Node, numel, tensor } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { calibrate } from '../host/quantize/calibrate';
import { Rng } from '../host/util/rng';
import { mlperfFile } from './helpers/tflite-mlperf';

// The fast float kernels against the plain loops they replace (the definition of the float semantics: one double
// accumulator per output, bias first, taps in (ky, kx, ic) order, padded taps skipped). Both add the same exact
// float32 products in the same order, so the outputs must be identical, not merely close.

function naiveConv(x: Float32Array, w: Float32Array, b: Float32Array | undefined, g: ConvGeometry, dw: boolean) {
  const { H, W, C, OH, OW, OC, KH, KW } = g;
  const m = OC / C;
  const y = new Float32Array(OH * OW * OC);
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++)
      for (let oc = 0; oc < OC; oc++) {
        let acc = b ? b[oc] : 0;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
            if (ix < 0 || ix >= W) continue;
            const xb = (iy * W + ix) * C;
            if (dw) acc += x[xb + Math.floor(oc / m)] * w[(ky * KW + kx) * OC + oc];
            else for (let ic = 0; ic < C; ic++) acc += x[xb + ic] * w[((oc * KH + ky) * KW + kx) * C + ic];
          }
        }
        y[(oy * OW + ox) * OC + oc] = acc;
      }
  return y;
}

function naiveDense(x: Float32Array, w: Float32Array, b: Float32Array | undefined, I: number, O: number) {
  const y = new Float32Array((x.length / I) * O);
  for (let r = 0; r < x.length / I; r++)
    for (let o = 0; o < O; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < I; i++) acc += x[r * I + i] * w[o * I + i];
      y[r * O + o] = acc;
    }
  return y;
}

const randoms = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.uniform(-2, 2));

function assertIdentical(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) assert.fail(`${what}: element ${i} is ${got[i]}, the plain loop gives ${want[i]}`);
}

/** A random convolution: kernel 1..5, stride 1..3, dilation 1..2, any padding up to the kernel's reach. */
function randomGeometry(rng: Rng, depthwise: boolean): ConvGeometry {
  const [KH, KW] = [rng.int(1, 5), rng.int(1, 5)];
  const strides: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
  const dilations: [number, number] = [rng.int(1, 2), rng.int(1, 2)];
  const [H, W, C] = [rng.int(KH * dilations[0], 14), rng.int(KW * dilations[1], 14), rng.int(1, 13)];
  const pads = [rng.int(0, KH - 1), rng.int(0, KW - 1)];
  const out = (n: number, k: number, s: number, d: number, p: number) =>
    Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  const OC = depthwise ? C * rng.int(1, 3) : rng.int(1, 19);
  return {
    H,
    W,
    C,
    OH: out(H, KH, strides[0], dilations[0], pads[0]),
    OW: out(W, KW, strides[1], dilations[1], pads[1]),
    OC,
    KH,
    KW,
    strides,
    dilations,
    pads,
  };
}

describe('fast float kernels', () => {
  it('convolution equals the plain loop on 200 random geometries (bias or none, 1×1 and im2col paths)', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 200; t++) {
      const g =
        rng.next() < 0.2 ? { ...randomGeometry(rng, false), KH: 1, KW: 1, pads: [0, 0] } : randomGeometry(rng, false);
      if (g.KH === 1 && g.KW === 1) Object.assign(g, { strides: [1, 1], OH: g.H, OW: g.W });
      const x = randoms(rng, g.H * g.W * g.C);
      const w = randoms(rng, g.OC * g.KH * g.KW * g.C);
      const b = rng.next() < 0.5 ? randoms(rng, g.OC) : undefined;
      assertIdentical(conv2dFloat(x, w, b, g), naiveConv(x, w, b, g, false), `conv ${JSON.stringify(g)}`);
    }
  });

  it('depthwise convolution equals the plain loop on 200 random geometries (multipliers 1–3, 3×3 interiors)', () => {
    const rng = new Rng(12);
    for (let t = 0; t < 200; t++) {
      const g = rng.next() < 0.4 ? { ...randomGeometry(rng, true), KH: 3, KW: 3 } : randomGeometry(rng, true);
      const x = randoms(rng, g.H * g.W * g.C);
      const w = randoms(rng, g.KH * g.KW * g.OC);
      const b = rng.next() < 0.5 ? randoms(rng, g.OC) : undefined;
      assertIdentical(depthwiseConv2dFloat(x, w, b, g), naiveConv(x, w, b, g, true), `depthwise ${JSON.stringify(g)}`);
    }
  });

  it('the blocked product equals the plain loop for every remainder of rows and columns', () => {
    const rng = new Rng(13);
    for (let P = 1; P <= 9; P++)
      for (let O = 1; O <= 9; O++) {
        const K = rng.int(1, 40);
        const [x, w, b] = [randoms(rng, P * K), randoms(rng, O * K), randoms(rng, O)];
        const y = new Float32Array(P * O);
        matmulRows(x, P, K, w, O, b, y);
        assertIdentical(y, naiveDense(x, w, b, K, O), `${P}×${K} · ${K}×${O}`);
      }
  });

  /** Every conv / depthwise / dense node of `g`, recomputed by the plain loop from the input runFloat gave it. */
  function assertNodesMatchPlainLoops(g: Graph, x: Float32Array): number {
    const values = new Map<string, Float32Array>();
    runFloat(g, { [g.inputs[0]]: x }, (name, data) => values.set(name, data));
    let checked = 0;
    for (const n of g.nodes as Node<'conv2d' | 'depthwise_conv2d' | 'dense'>[]) {
      if (!['conv2d', 'depthwise_conv2d', 'dense'].includes(n.op.kind)) continue;
      const input = values.get(n.op.inputs[0])!;
      const wt = tensor(g, n.op.inputs[1]);
      const b = n.op.inputs[2] ? (tensor(g, n.op.inputs[2]).data as Float32Array) : undefined;
      let want: Float32Array;
      if (n.op.kind === 'dense') want = naiveDense(input, wt.data as Float32Array, b, wt.shape[1], wt.shape[0]);
      else {
        const op = n.op as Node<'conv2d'>['op'];
        const [, H, W, C] = tensor(g, op.inputs[0]).shape;
        const [, OH, OW, OC] = tensor(g, op.outputs[0]).shape;
        const { strides, dilations, pads } = op.attrs;
        const geometry = { H, W, C, OH, OW, OC, KH: wt.shape[1], KW: wt.shape[2], strides, dilations, pads };
        want = naiveConv(input, wt.data as Float32Array, b, geometry, n.op.kind === 'depthwise_conv2d');
      }
      const clamp = n.op.attrs.clamp;
      if (clamp) want = want.map((v) => Math.min(clamp.max, Math.max(clamp.min, v)));
      assertIdentical(values.get(n.op.outputs[0])!, want, `${g.name} node ${n.name}`);
      checked++;
    }
    return checked;
  }

  const zoo = (name: string) => path.join(__dirname, '..', '..', 'models', name, 'model.json');
  const models: [string, () => Graph][] = [
    ['zoo CNN', () => toDeviceGraph(importModel(zoo('fashion_cnn')))],
    ['zoo MLP', () => toDeviceGraph(importModel(zoo('fashion_mlp')))],
    [
      'MLPerf KWS (float)',
      () => toDeviceGraph(tfliteToGraph(readTfliteFile(mlperfFile('kws_ref_model_float32.tflite')))),
    ],
    [
      'MLPerf ResNet-8 (float)',
      () => toDeviceGraph(tfliteToGraph(readTfliteFile(mlperfFile('pretrainedResnet.tflite')))),
    ],
  ];
  for (const [name, load] of models)
    it(`${name}: every conv, depthwise and dense layer equals the plain loop on its own input`, () => {
      const g = load();
      const rng = new Rng(5);
      const x = Float32Array.from({ length: numel(tensor(g, g.inputs[0]).shape) }, () => rng.next());
      assert.ok(assertNodesMatchPlainLoops(g, x) >= 2);
    });
});

describe('calibration on worker threads', () => {
  const kws = () => toDeviceGraph(tfliteToGraph(readTfliteFile(mlperfFile('kws_ref_model_float32.tflite'))));

  for (const observer of ['minmax', 'percentile'] as const)
    it(`${observer}: two threads give exactly the ranges of one, and report every sample's progress`, () => {
      // The worker is waited for and asks first: it takes chunks of about 0.25 s of samples (all the rest, at KWS's
      // few ms per sample), whose progress comes in steps of more than one; this thread reports its own one by one.
      const g = kws();
      const rng = new Rng(9);
      const n = numel(tensor(g, g.inputs[0]).shape);
      const samples = Array.from({ length: 24 }, () => Float32Array.from({ length: n }, () => rng.uniform(-100, 25)));
      const steps: number[] = [];
      const two = calibrate(g, samples, { observer, threads: 2, onProgress: (k) => steps.push(k) });
      const one = calibrate(g, samples, { observer, threads: 1 });
      assert.equal(
        steps.reduce((a, b) => a + b),
        samples.length,
      );
      assert.ok(
        steps.some((k) => k > 1),
        `progress steps ${steps}: the worker took no chunk`,
      );
      assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
      for (const [name, range] of one) assert.deepEqual(two.get(name), range, name);
    });
});
