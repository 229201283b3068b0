// A MobileNetV2-shaped TF.js layers model (224×224×3, width 1.0: 3.5 M parameters, ~300 M MAC) with seeded random
// weights, for the calibration benchmark. It is written on demand, never committed (14 MB of weights):
//
//   npx tsx tools/make-mobilenetv2.ts DIR [--size 224] [--alpha 1]
//
// The layers are Keras's MobileNetV2 (tf.keras.applications): a stride-2 3×3 stem, 17 inverted residual blocks
// (1×1 expansion → 3×3 depthwise → 1×1 linear projection, with batch norm and ReLU6, a residual add where shapes
// allow), a 1×1 conv to 1280 channels, global average pooling and a 1000-way dense softmax. Batch-norm statistics
// are random too, so folding them is not a no-op.

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../host/util/rng';
import { writeLayersModel } from '../models/train';

/** Expansion factor, output channels, repeats, first stride (Sandler et al. 2018, table 2). */
const BLOCKS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** Channels rounded to a multiple of 8, as Keras's _make_divisible. */
function divisible(v: number): number {
  const r = Math.max(8, Math.floor((v + 4) / 8) * 8);
  return r < 0.9 * v ? r + 8 : r;
}

function mobileNetV2(size: number, alpha: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  const bnRelu6 = (x: tf.SymbolicTensor, relu: boolean) => {
    const y = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
    return relu ? (tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor) : y;
  };
  const conv = (x: tf.SymbolicTensor, filters: number, kernel: number, strides: number) =>
    tf.layers
      .conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false })
      .apply(x) as tf.SymbolicTensor;
  let x = bnRelu6(conv(input, divisible(32 * alpha), 3, 2), true);
  let channels = divisible(32 * alpha);
  for (const [t, c, n, s] of BLOCKS)
    for (let i = 0; i < n; i++) {
      const out = divisible(c * alpha);
      const strides = i === 0 ? s : 1;
      let y = t === 1 ? x : bnRelu6(conv(x, channels * t, 1, 1), true);
      y = tf.layers
        .depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false })
        .apply(y) as tf.SymbolicTensor;
      y = bnRelu6(conv(bnRelu6(y, true), out, 1, 1), false);
      x = strides === 1 && out === channels ? (tf.layers.add().apply([x, y]) as tf.SymbolicTensor) : y;
      channels = out;
    }
  x = bnRelu6(conv(x, alpha > 1 ? divisible(1280 * alpha) : 1280, 1, 1), true);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 1000, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'mobilenetv2' });
}

/** Seeded weights: He-normal kernels, small biases, batch-norm statistics near the identity. */
function randomizeWeights(m: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of m.layers) {
    const values = layer.weights.map((w) => {
      const name = w.name;
      const shape = w.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const [kh, kw, ic] = shape;
      const fanIn = shape.length === 4 ? kh * kw * (layer.getClassName() === 'DepthwiseConv2D' ? 1 : ic) : kh;
      for (let i = 0; i < n; i++)
        data[i] = /gamma/.test(name)
          ? rng.uniform(0.5, 1.5)
          : /beta|bias/.test(name)
            ? rng.uniform(-0.1, 0.1)
            : /moving_mean/.test(name)
              ? rng.uniform(-0.2, 0.2)
              : /moving_variance/.test(name)
                ? rng.uniform(0.5, 2)
                : rng.normal() * Math.sqrt(2 / fanIn);
      return tf.tensor(data, shape);
    });
    layer.setWeights(values);
  }
}

/** Writes DIR/model.json and DIR/weights.bin; returns the model.json path. */
export async function writeMobileNetV2(dir: string, opts: { size?: number; alpha?: number; seed?: number } = {}) {
  await tf.setBackend('cpu');
  const m = mobileNetV2(opts.size ?? 224, opts.alpha ?? 1);
  randomizeWeights(m, opts.seed ?? 1);
  return writeLayersModel(m, dir);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  if (!args[0] || args[0].startsWith('--')) {
    console.error('usage: make-mobilenetv2 DIR [--size 224] [--alpha 1]');
    process.exit(2);
  }
  writeMobileNetV2(args[0], { size: opt('--size'), alpha: opt('--alpha') }).then((f) => console.log(f));
}
