import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { inputBatch, range } from '../host/compress/batches';
import {
  batchNormFrozen,
  batchNormReluTrain,
  conv2d,
  depthwiseConv,
  maxPool,
  useFastMatMul,
} from '../host/compress/conv-im2col';
import { trainNet } from '../host/compress/fine-tune';
import { loadLayersModel, saveLayersModel } from '../host/compress/layers-io';
import { TrainableNet } from '../host/compress/net';
import { loadFashionMnist } from '../host/data/fashion-mnist';
import { Rng } from '../host/util/rng';

const ROOT = path.join(__dirname, '..', '..');
const zoo = (name: string) => path.join(ROOT, 'models', name, 'model.json');

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)),
    shape,
  );
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('compress: training kernels and layers-model I/O', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  for (const padding of ['valid', 'same'] as const) {
    for (const [kh, kw, s] of [
      [3, 3, 1],
      [3, 2, 2],
      [1, 1, 1],
    ]) {
      it(`conv2d via im2col matches tf.conv2d, value and gradients (${kh}×${kw}, stride ${s}, ${padding})`, () => {
        const rng = new Rng(kh * 10 + s);
        const x = randomTensor([2, 7, 6, 3], rng) as tf.Tensor4D;
        const k = randomTensor([kh, kw, 3, 4], rng) as tf.Tensor4D;
        const win = { kh, kw, sh: s, sw: s, padding };
        assert.ok(maxDiff(conv2d(x, k, 4, win), tf.conv2d(x, k, s, padding)) < 1e-5);
        const g1 = tf.grads((a, b) => tf.sum(tf.square(conv2d(a as tf.Tensor4D, b, 4, win))))([x, k]);
        const g2 = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, padding))))([
          x,
          k,
        ]);
        assert.ok(maxDiff(g1[0], g2[0]) < 1e-4, 'dx');
        assert.ok(maxDiff(g1[1], g2[1]) < 1e-4, 'dkernel');
      });
    }
  }

  it('depthwise convolution and max pooling match tf, value and gradients', () => {
    const rng = new Rng(3);
    const x = randomTensor([2, 6, 5, 4], rng) as tf.Tensor4D;
    const k = randomTensor([3, 3, 4, 1], rng) as tf.Tensor4D;
    for (const padding of ['same', 'valid'] as const) {
      const win = { kh: 3, kw: 3, sh: 1, sw: 1, padding };
      assert.ok(maxDiff(depthwiseConv(x, k, win), tf.depthwiseConv2d(x, k, 1, padding)) < 1e-5);
      const g1 = tf.grads((a, b) => tf.sum(tf.square(depthwiseConv(a as tf.Tensor4D, b, win))))([x, k]);
      const g2 = tf.grads((a, b) =>
        tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, padding))),
      )([x, k]);
      assert.ok(maxDiff(g1[0], g2[0]) < 1e-4 && maxDiff(g1[1], g2[1]) < 1e-4);
    }
    const pool = { kh: 2, kw: 2, sh: 2, sw: 2 };
    assert.ok(maxDiff(maxPool(x, pool), tf.maxPool(x, 2, 2, 'valid')) === 0);
    const g1 = tf.grad((a) => tf.sum(tf.square(maxPool(a as tf.Tensor4D, pool))))(x);
    const g2 = tf.grad((a) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'))))(x);
    assert.ok(maxDiff(g1, g2) < 1e-6);
  });

  it("the fast matMul kernel is bit-identical to the CPU backend's, value and gradients", () => {
    const rng = new Rng(11);
    // Shared dimensions below, at and above the backend's block of 48; every transpose combination.
    const cases = [
      [130, 9, 16],
      [9, 300, 16],
      [60, 97, 70],
      [3, 48, 5],
      [1, 1, 1],
    ].flatMap(([m, k, n]) =>
      [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ].map(([ta, tb]) => ({
        a: randomTensor(ta ? [k, m] : [m, k], rng) as tf.Tensor2D,
        b: randomTensor(tb ? [n, k] : [k, n], rng) as tf.Tensor2D,
        weights: randomTensor([m, n], rng),
        ta,
        tb,
      })),
    );
    const run = () =>
      cases.map(({ a, b, weights, ta, tb }) => {
        const loss = (x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), weights));
        return [tf.matMul(a, b, ta, tb), ...tf.grads(loss)([a, b])].map((t) => t.dataSync() as Float32Array);
      });
    useFastMatMul(false);
    const reference = run();
    useFastMatMul();
    const fast = run();
    reference.forEach((outs, i) =>
      outs.forEach((r, j) =>
        assert.ok(
          r.every((v, q) => Object.is(v, fast[i][j][q])),
          `case ${i}, output ${j}`,
        ),
      ),
    );
  });

  it('batch norm + ReLU with batch statistics matches tf.moments, value and gradients', () => {
    const rng = new Rng(5);
    const x = randomTensor([3, 4, 5, 6], rng);
    const gamma = randomTensor([6], rng);
    const beta = randomTensor([6], rng);
    const eps = 1e-3;
    const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.relu(tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, eps))), g), b));
    };
    assert.ok(maxDiff(batchNormReluTrain(x, gamma, beta, eps), reference(x, gamma, beta)) < 1e-5);
    const weights = randomTensor(x.shape, rng);
    const loss = (f: typeof reference) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a, g, b), weights));
    const g1 = tf.grads(loss((a, g, b) => batchNormReluTrain(a, g, b, eps)))([x, gamma, beta]);
    const g2 = tf.grads(loss(reference))([x, gamma, beta]);
    g1.forEach((g, i) => assert.ok(maxDiff(g, g2[i]) < 1e-4, `gradient ${i}`));
  });

  for (const relu of [true, false]) {
    it(`batch norm with fixed statistics${relu ? ' + ReLU' : ''} matches the formula, value and gradients`, () => {
      const rng = new Rng(relu ? 7 : 8);
      const x = randomTensor([2, 3, 4, 5], rng);
      const gamma = randomTensor([5], rng);
      const beta = randomTensor([5], rng);
      const stats = {
        mean: Float32Array.from({ length: 5 }, () => rng.uniform(-1, 1)),
        variance: Float32Array.from({ length: 5 }, () => rng.uniform(0.1, 2)),
        epsilon: 1e-3,
      };
      const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const y = tf.add(
          tf.mul(
            tf.div(tf.sub(a, tf.tensor1d(stats.mean)), tf.sqrt(tf.add(tf.tensor1d(stats.variance), stats.epsilon))),
            g,
          ),
          b,
        );
        return relu ? tf.relu(y) : y;
      };
      assert.ok(maxDiff(batchNormFrozen(x, gamma, beta, stats, relu), reference(x, gamma, beta)) < 1e-5);
      const weights = randomTensor(x.shape, rng);
      const loss = (f: typeof reference) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a, g, b), weights));
      const g1 = tf.grads(loss((a, g, b) => batchNormFrozen(a, g, b, stats, relu)))([x, gamma, beta]);
      const g2 = tf.grads(loss(reference))([x, gamma, beta]);
      g1.forEach((g, i) => assert.ok(maxDiff(g, g2[i]) < 1e-4, `gradient ${i}`));
    });
  }

  it('fine-tuning on two threads (a worker computes half of each batch) gives the one-thread result up to rounding', () => {
    const data = loadFashionMnist('train', 256);
    const teacherLogits = Float32Array.from({ length: 256 * 10 }, (_, i) => (i % 7) / 3);
    const trained = [1, 2].map((threads) => {
      const net = new TrainableNet(loadLayersModel(zoo('fashion_cnn')));
      const r = trainNet(net, data, {
        epochs: 1,
        lr: 1e-3,
        seed: 3,
        label: '',
        quiet: true,
        threads,
        distill: { teacherLogits, alpha: 0.5, temperature: 2 },
      });
      const weights = net.trainableVariables().map((v) => v.dataSync() as Float32Array);
      net.dispose();
      return { loss: r.loss, weights };
    });
    assert.ok(Math.abs(trained[0].loss - trained[1].loss) < 1e-5, `loss ${trained[0].loss} vs ${trained[1].loss}`);
    const sourceNet = new TrainableNet(loadLayersModel(zoo('fashion_cnn')));
    const source = sourceNet.trainableVariables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
    sourceNet.dispose();
    trained[0].weights.forEach((w, i) => {
      let moved = 0;
      let apart = 0;
      w.forEach((v, j) => {
        moved = Math.max(moved, Math.abs(v - source[i][j]));
        apart = Math.max(apart, Math.abs(v - trained[1].weights[i][j]));
      });
      assert.ok(
        apart <= 1e-3 * moved + 1e-6,
        `variable ${i}: the runs differ by ${apart}, training moved it by ${moved}`,
      );
    });
  });

  for (const name of ['fashion_mlp', 'fashion_cnn']) {
    it(`${name}: saved by layers-io, loaded by tf.loadLayersModel, predicts what TrainableNet computes`, async () => {
      const m = loadLayersModel(zoo(name));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-io-'));
      saveLayersModel(m, dir);
      const again = loadLayersModel(path.join(dir, 'model.json'));
      assert.deepEqual(
        again.layers.map((l) => l.kind),
        m.layers.map((l) => l.kind),
      );
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
      const lm = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
        }),
      );
      const test = loadFashionMnist('test', 64);
      const x = inputBatch(test, range(64), m.inputShape);
      const net = new TrainableNet(again);
      const diff = maxDiff(lm.predict(x) as tf.Tensor, net.forward(x));
      assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
      net.dispose();
      fs.rmSync(dir, { recursive: true });
    });
  }
});
