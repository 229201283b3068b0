import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { distillationLoss } from '../host/compress/distill';
import { fakeQuantActivation, fakeQuantWeights, quantizeChannels, WeightBits } from '../host/compress/fake-quant';
import { chooseBits, Sensitivity } from '../host/compress/mixed-precision';
import { Rng } from '../host/util/rng';

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('compress: distillation loss', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  it('its gradient is α·T·(softmax(s/T) − softmax(t/T))/N + (1 − α)·(softmax(s) − y)/N', () => {
    const rng = new Rng(11);
    const N = 4;
    const C = 5;
    const s = Array.from({ length: N * C }, () => rng.normal() * 2);
    const t = Array.from({ length: N * C }, () => rng.normal() * 3);
    const labels = [0, 3, 4, 1];
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), C) as tf.Tensor2D;
    for (const [alpha, T] of [
      [0.7, 4],
      [0.3, 1],
      [1, 2.5],
    ]) {
      const g = tf
        .grad((x) => distillationLoss(x as tf.Tensor2D, tf.tensor2d(t, [N, C]), onehot, alpha, T))(
          tf.tensor2d(s, [N, C]),
        )
        .dataSync();
      for (let i = 0; i < N; i++) {
        const row = (a: number[], scale: number) => a.slice(i * C, (i + 1) * C).map((v) => v / scale);
        const ps = softmax(row(s, T));
        const pt = softmax(row(t, T));
        const p1 = softmax(row(s, 1));
        for (let c = 0; c < C; c++) {
          const want = (alpha * T * (ps[c] - pt[c]) + (1 - alpha) * (p1[c] - (labels[i] === c ? 1 : 0))) / N;
          assert.ok(Math.abs(g[i * C + c] - want) < 1e-5, `α ${alpha} T ${T} [${i},${c}]: ${g[i * C + c]} vs ${want}`);
        }
      }
    }
  });

  it('is the cross-entropy at α = 0 and has no soft term when the student equals the teacher', () => {
    const z = tf.tensor2d([
      [1, 2, 0.5],
      [0, -1, 3],
    ]);
    const y = tf.tensor2d([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const ce = tf.losses.softmaxCrossEntropy(y, z).dataSync()[0];
    assert.ok(
      Math.abs(
        distillationLoss(
          z,
          tf.tensor2d([
            [9, 9, 9],
            [1, 2, 3],
          ]),
          y,
          0,
          3,
        ).dataSync()[0] - ce,
      ) < 1e-6,
    );
    assert.ok(Math.abs(distillationLoss(z, z, y, 1, 3).dataSync()[0]) < 1e-6);
  });
});

describe('compress: fake quantization and mixed precision', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  for (const bits of [8, 4, 2]) {
    it(`int${bits} per-channel weights: at most 2^${bits}−1 symmetric levels per channel, error ≤ half a step, the max kept`, () => {
      const rng = new Rng(bits);
      const channels = 6;
      const w = Float32Array.from({ length: 40 * channels }, (_, i) => rng.normal() * (1 + (i % channels)));
      const q = quantizeChannels(w, channels, bits);
      const qmax = 2 ** (bits - 1) - 1;
      for (let c = 0; c < channels; c++) {
        const idx = Array.from({ length: 40 }, (_, k) => k * channels + c);
        const maxAbs = Math.max(...idx.map((i) => Math.abs(w[i])));
        const step = maxAbs / qmax;
        const levels = new Set(idx.map((i) => Math.round(q[i] / step)));
        assert.ok(levels.size <= 2 * qmax + 1);
        for (const l of levels) assert.ok(Math.abs(l) <= qmax);
        for (const i of idx) assert.ok(Math.abs(q[i] - w[i]) <= step / 2 + 1e-6);
        assert.ok(idx.some((i) => Math.abs(Math.abs(q[i]) - maxAbs) < 1e-6));
      }
    });
  }

  it('fake-quantized weights pass gradients straight through; activations only inside their range', () => {
    const w = tf.tensor2d([
      [0.3, -1.2],
      [0.05, 0.7],
    ]);
    const gw = tf
      .grad((x) =>
        tf.sum(
          tf.mul(
            fakeQuantWeights(x, 2, 2),
            tf.tensor2d([
              [1, 2],
              [3, 4],
            ]),
          ),
        ),
      )(w)
      .dataSync();
    assert.deepEqual(Array.from(gw), [1, 2, 3, 4]);
    const x = tf.tensor1d([-2, -0.5, 0, 0.9, 3]);
    const y = fakeQuantActivation(x, -1, 1).dataSync();
    assert.ok(Math.abs(y[0] - -1) < 0.01 && Math.abs(y[4] - 1) < 0.01, 'clamped to the range');
    assert.ok(Math.abs(y[3] - 0.9) <= 1 / 255 + 1e-6);
    const gx = tf
      .grad((v) => tf.sum(fakeQuantActivation(v, -1, 1)))(x)
      .dataSync();
    assert.deepEqual(Array.from(gx), [0, 1, 1, 1, 0]);
  });

  it('chooses bits to fit the budget, lowering the least sensitive bytes first, and says when it cannot', () => {
    const layerBytes: Record<string, Record<WeightBits, number>> = {
      robust: { 8: 8000, 4: 4000, 2: 2000 },
      fragile: { 8: 2000, 4: 1000, 2: 500 },
    };
    const blobBytes = (bits: Record<string, WeightBits>) =>
      1000 + Object.entries(bits).reduce((a, [n, b]) => a + layerBytes[n][b], 0);
    const sens: Sensitivity[] = [
      { layer: 'robust', bits: 8, accuracy: 0.9, drop: 0 },
      { layer: 'robust', bits: 4, accuracy: 0.89, drop: 0.01 },
      { layer: 'robust', bits: 2, accuracy: 0.7, drop: 0.2 },
      { layer: 'fragile', bits: 8, accuracy: 0.9, drop: 0 },
      { layer: 'fragile', bits: 4, accuracy: 0.6, drop: 0.3 },
      { layer: 'fragile', bits: 2, accuracy: 0.2, drop: 0.7 },
    ];
    assert.deepEqual(chooseBits(layerBytes, sens, 11000, blobBytes), { robust: 8, fragile: 8 });
    assert.deepEqual(chooseBits(layerBytes, sens, 8000, blobBytes), { robust: 4, fragile: 8 });
    const b = chooseBits(layerBytes, sens, 5000, blobBytes);
    assert.ok(blobBytes(b) <= 5000, `${JSON.stringify(b)} → ${blobBytes(b)} B`);
    assert.throws(
      () => chooseBits(layerBytes, sens, 3000, blobBytes),
      /out of reach: with every layer at its lowest bit width it is 3500 bytes/,
    );
  });
});
