import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { factorizeLayer, gradualLowRank, truncateToEnergy } from '../host/compress/low-rank';
import { TrainableNet } from '../host/compress/net';
import { paramCount, SeqModel } from '../host/compress/seq-model';
import { rankForEnergy, svd } from '../host/compress/svd';
import { Rng } from '../host/util/rng';

function randomMatrix(m: number, n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: m * n }, () => rng.normal());
}

/** U·diag(s)·Vᵀ. */
function reconstruct(d: ReturnType<typeof svd>, m: number, n: number, rank = d.k): Float64Array {
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++)
      for (let r = 0; r < rank; r++) a[i * n + j] += d.u[i * d.k + r] * d.s[r] * d.v[j * d.k + r];
  return a;
}

function tinyMlp(rng: Rng, inputs = 12, hidden = 9): SeqModel {
  const w = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-0.5, 0.5));
  return {
    name: 'tiny',
    inputShape: [inputs],
    layers: [
      { kind: 'dense', name: 'fc1', units: hidden, activation: 'relu', kernel: w(inputs * hidden), bias: w(hidden) },
      { kind: 'dense', name: 'out', units: 4, activation: 'linear', kernel: w(hidden * 4), bias: w(4) },
    ],
  };
}

describe('compress: SVD and low-rank factorization', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  for (const [m, n] of [
    [30, 7],
    [7, 30],
    [16, 16],
    [1, 5],
  ]) {
    it(`SVD of a random ${m}×${n} matrix reconstructs it, with orthonormal U and V and descending σ`, () => {
      const rng = new Rng(m * 100 + n);
      const a = randomMatrix(m, n, rng);
      const d = svd(a, m, n);
      assert.equal(d.k, Math.min(m, n));
      const back = reconstruct(d, m, n);
      a.forEach((x, i) => assert.ok(Math.abs(x - back[i]) < 1e-10, `entry ${i}: ${x} vs ${back[i]}`));
      for (let r = 1; r < d.k; r++) assert.ok(d.s[r] <= d.s[r - 1]);
      for (const [q, rows] of [
        [d.u, m],
        [d.v, n],
      ] as [Float64Array, number][]) {
        for (let p = 0; p < d.k; p++) {
          for (let r = 0; r < d.k; r++) {
            let dot = 0;
            for (let i = 0; i < rows; i++) dot += q[i * d.k + p] * q[i * d.k + r];
            if (d.s[p] > 1e-12 && d.s[r] > 1e-12) assert.ok(Math.abs(dot - (p === r ? 1 : 0)) < 1e-10);
          }
        }
      }
    });
  }

  it('SVD finds the singular values of a known rank-2 matrix; the rank for 100% energy is 2', () => {
    // A = 5·x·yᵀ + 2·z·wᵀ with orthonormal x ⟂ z and y ⟂ w.
    const m = 6;
    const n = 4;
    const x = [1, 1, 1, 1, 1, 1].map((v) => v / Math.sqrt(6));
    const z = [1, -1, 1, -1, 1, -1].map((v) => v / Math.sqrt(6));
    const y = [1, 0, 0, 0];
    const w = [0, 0, 1, 0];
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = 5 * x[i] * y[j] + 2 * z[i] * w[j];
    const d = svd(a, m, n);
    assert.ok(Math.abs(d.s[0] - 5) < 1e-12 && Math.abs(d.s[1] - 2) < 1e-12 && d.s[2] < 1e-12);
    assert.equal(rankForEnergy(d.s, 1), 2);
    assert.equal(rankForEnergy(d.s, 25 / 29), 1);
    assert.equal(rankForEnergy(d.s, 25 / 29 + 1e-6), 2);
  });

  it('factorizing a Dense layer at full rank keeps its outputs; a lower rank splits it into two smaller layers', () => {
    const m = tinyMlp(new Rng(5));
    const full = factorizeLayer(m, 'fc1', { rank: 9 });
    assert.deepEqual(
      full.model.layers.map((l) => l.name),
      ['fc1_lr_u', 'fc1_lr_v', 'out'],
    );
    const first = full.model.layers[0];
    assert.ok(first.kind === 'dense' && first.activation === 'linear' && !first.bias && first.units === 9);
    const x = tf.tensor2d(
      Float32Array.from({ length: 5 * 12 }, (_, i) => Math.sin(i)),
      [5, 12],
    );
    const a = new TrainableNet(m).forward(x).dataSync();
    const b = new TrainableNet(full.model).forward(x).dataSync();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `${v} vs ${b[i]}`));
    const low = factorizeLayer(m, 'fc1', { rank: 3 });
    assert.equal(low.paramsAfter, 3 * (12 + 9) + 9);
    assert.equal(paramCount(low.model), paramCount(m) - low.paramsBefore + low.paramsAfter);
    assert.ok(low.energy < 1 && low.energy > 0);
  });

  it('the energy criterion picks the smallest rank that keeps the energy, and truncation is the best low-rank approximation', () => {
    const rng = new Rng(9);
    const m = tinyMlp(rng);
    const k = (m.layers[0] as { kernel: Float32Array }).kernel;
    const d = svd(k, 12, 9);
    const f = factorizeLayer(m, 'fc1', { energy: 0.8 });
    assert.equal(f.rank, rankForEnergy(d.s, 0.8));
    assert.ok(f.energy >= 0.8);
    const t = truncateToEnergy(k, 12, 9, 0.8);
    assert.equal(t.rank, f.rank);
    // Frobenius error² of the truncation = Σ of the dropped σ².
    let err = 0;
    k.forEach((v, i) => (err += (v - t.kernel[i]) ** 2));
    const dropped = Array.from(d.s)
      .slice(t.rank)
      .reduce((a, s) => a + s * s, 0);
    assert.ok(Math.abs(err - dropped) < 1e-4 * (1 + dropped), `${err} vs ${dropped}`);
  });

  it('gradual projection lowers the kernel rank step by step, never below the size-target rank', () => {
    const rng = new Rng(21);
    const m = tinyMlp(rng, 20, 16);
    const net = new TrainableNet(m);
    // Without training in between, repeated 90% truncations of this kernel go 10 → 8 → 7 → 6; the floor is 7.
    const hook = gradualLowRank(net, [{ name: 'fc1', rows: 20, cols: 16 }], 0.9, 7, 8, 1);
    const ranks: number[] = [];
    for (let step = 0; step < 100; step += 13) {
      hook(step, 100);
      const d = svd(net.vars.get('fc1')!.kernel!.dataSync() as Float32Array, 20, 16);
      ranks.push(Array.from(d.s).filter((s) => s > 1e-4 * d.s[0]).length);
    }
    assert.equal(ranks[0], rankForEnergy(svd((m.layers[0] as { kernel: Float32Array }).kernel, 20, 16).s, 0.9));
    for (let i = 1; i < ranks.length; i++) assert.ok(ranks[i] < ranks[i - 1] || ranks[i] === 7, `ranks ${ranks}`);
    assert.equal(ranks.at(-1), 7, `ranks ${ranks}`);
    net.dispose();
  });

  it('rejects layers that are not Dense or 1×1 convolutions', () => {
    const m: SeqModel = {
      name: 'c',
      inputShape: [5, 5, 2],
      layers: [
        {
          kind: 'conv2d',
          name: 'c3',
          filters: 2,
          kernelSize: [3, 3],
          strides: [1, 1],
          padding: 'valid',
          activation: 'relu',
          kernel: new Float32Array(36),
        },
      ],
    };
    assert.throws(() => factorizeLayer(m, 'c3', { rank: 1 }), /Dense and 1×1 Conv2D/);
  });
});
