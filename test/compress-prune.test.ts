import { strict as assert } from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { head, inputBatch, range } from '../host/compress/batches';
import { evaluateNet } from '../host/compress/evaluate';
import { trainNet } from '../host/compress/fine-tune';
import { loadLayersModel } from '../host/compress/layers-io';
import { TrainableNet } from '../host/compress/net';
import {
  defaultPruneTargets,
  gradualPruning,
  magnitudeMask,
  magnitudeMasks,
  polynomialSparsity,
  sparsityOf,
} from '../host/compress/prune';
import { isWeightLayer, layerMacs, SeqModel, totalMacs } from '../host/compress/seq-model';
import { channelGroups, pruneStructured } from '../host/compress/structured';
import { studentOf } from '../host/compress/student';
import { loadFashionMnist } from '../host/data/fashion-mnist';
import { Rng } from '../host/util/rng';

const ROOT = path.join(__dirname, '..', '..');
const zoo = (name: string) => loadLayersModel(path.join(ROOT, 'models', name, 'model.json'));

function logits(m: SeqModel, n = 40): Float32Array {
  const net = new TrainableNet(m);
  const y = tf.tidy(
    () => net.forward(inputBatch(loadFashionMnist('test', n), range(n), m.inputShape)).dataSync() as Float32Array,
  );
  net.dispose();
  return y;
}

describe('compress: unstructured pruning', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  it('the polynomial schedule starts at the initial sparsity, ends at the final one and never decreases', () => {
    assert.equal(polynomialSparsity(0, 100, 0.8), 0);
    assert.equal(polynomialSparsity(100, 100, 0.8), 0.8);
    assert.equal(polynomialSparsity(250, 100, 0.8), 0.8);
    assert.ok(Math.abs(polynomialSparsity(50, 100, 0.8) - 0.8 * (1 - 0.125)) < 1e-12);
    let last = -1;
    for (let t = 0; t <= 100; t++) {
      const s = polynomialSparsity(t, 100, 0.9, 0.1);
      assert.ok(s >= last);
      last = s;
    }
  });

  it('a magnitude mask zeroes exactly the smallest |w|', () => {
    const rng = new Rng(2);
    const w = Float32Array.from({ length: 1000 }, () => rng.normal());
    const mask = magnitudeMask(w, 0.7);
    assert.equal(
      mask.reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
      700,
    );
    const kept = Array.from(w)
      .filter((_, i) => mask[i])
      .map(Math.abs);
    const dropped = Array.from(w)
      .filter((_, i) => !mask[i])
      .map(Math.abs);
    assert.ok(Math.min(...kept) >= Math.max(...dropped));
  });

  it('global masks share one threshold across layers; per-layer masks hit each layer target', () => {
    const rng = new Rng(4);
    const weights = new Map([
      ['big', Float32Array.from({ length: 800 }, () => rng.normal() * 2)],
      ['small', Float32Array.from({ length: 200 }, () => rng.normal() * 0.1)],
    ]);
    const layers = { big: 0.5, small: 0.5 };
    const global = magnitudeMasks(weights, { layers, scope: 'global' });
    const zeros = (n: string) => global.get(n)!.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
    assert.equal(zeros('big') + zeros('small'), 500);
    assert.ok(zeros('small') > 190, `small-magnitude layer pruned first globally (${zeros('small')} of 200)`);
    const all = [...weights].flatMap(([n, w]) =>
      Array.from(w, (v, i) => ({ a: Math.abs(v), kept: global.get(n)![i] === 1 })),
    );
    assert.ok(
      Math.min(...all.filter((e) => e.kept).map((e) => e.a)) >= Math.max(...all.filter((e) => !e.kept).map((e) => e.a)),
      'one threshold',
    );
    const perLayer = magnitudeMasks(weights, { layers: { big: 0.25, small: 0.75 }, scope: 'layer' });
    assert.equal(
      perLayer.get('big')!.reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
      200,
    );
    assert.equal(
      perLayer.get('small')!.reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
      150,
    );
  });

  it('gradual pruning while fine-tuning reaches the target sparsity, keeps masked weights at zero and still learns', () => {
    const train = loadFashionMnist('train', 2000);
    const test = head(loadFashionMnist('test', 300));
    const m = studentOf(zoo('fashion_mlp'), { width: 0.25 }, 7);
    const net = new TrainableNet(m);
    const targets = defaultPruneTargets(m, 0.75, 'layer');
    trainNet(net, train, {
      epochs: 3,
      lr: 3e-3,
      seed: 1,
      label: 'test prune',
      beforeStep: gradualPruning(net, targets, 5, 0.5),
      quiet: true,
    });
    const pruned = net.toModel();
    for (const l of pruned.layers.filter(isWeightLayer)) {
      assert.ok(Math.abs(sparsityOf(l.kernel) - 0.75) < 0.01, `${l.name}: sparsity ${sparsityOf(l.kernel)}`);
      const mask = net.masks.get(l.name)!;
      l.kernel.forEach((v, i) => assert.ok(mask[i] === 1 || v === 0, `${l.name}[${i}] = ${v} under a zero mask`));
    }
    assert.ok(evaluateNet(net, test) > 0.5, 'a 75%-sparse student trained on 2000 images is far above chance');
    net.dispose();
  });
});

describe('compress: structured pruning', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  it('finds the CNN channel groups, with the spatial fan-out of the Flatten before fc4', () => {
    const m = zoo('fashion_cnn');
    const groups = channelGroups(m).map((g) => ({
      producer: m.layers[g.producer].name,
      consumer: m.layers[g.consumer].name,
      spatial: g.spatial,
      channels: g.channels,
    }));
    assert.deepEqual(groups, [
      { producer: 'conv1', consumer: 'pwconv3', spatial: 1, channels: 16 },
      { producer: 'pwconv3', consumer: 'fc4', spatial: 36, channels: 32 },
      { producer: 'fc4', consumer: 'logits', spatial: 1, channels: 40 },
    ]);
  });

  it('removing dead MLP units (zero weights and bias) shrinks the layer and leaves the logits unchanged', () => {
    const m = zoo('fashion_mlp');
    const fc1 = m.layers[0] as Extract<SeqModel['layers'][number], { kind: 'dense' }>;
    const dead = [3, 17, 64, 100, 127];
    for (const u of dead) {
      for (let i = 0; i < 784; i++) fc1.kernel[i * 128 + u] = 0;
      fc1.bias![u] = 0;
    }
    const r = pruneStructured(m, dead.length / 128, 'l1');
    assert.deepEqual(r.channels, { fc1: { before: 128, after: 123 } });
    const after = r.model.layers[0] as typeof fc1;
    assert.equal(after.units, 123);
    assert.equal(after.kernel.length, 784 * 123);
    assert.ok(totalMacs(r.model) < totalMacs(m));
    const a = logits(m);
    const b = logits(r.model);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `${v} vs ${b[i]}`));
  });

  it('removing CNN channels switched off by their batch norms (γ = β = 0) by the bn-gamma criterion leaves the logits unchanged', () => {
    const m = zoo('fashion_cnn');
    const bn = (name: string) =>
      m.layers.find((l) => l.name === name) as Extract<SeqModel['layers'][number], { kind: 'batchnorm' }>;
    // conv1's channels pass bn1 and (after the depthwise conv) bn2 before pwconv3 mixes them: both go dark.
    const off: Record<string, number[]> = {
      bn1: [1, 5, 6, 12],
      bn2: [1, 5, 6, 12],
      bn3: [0, 2, 9, 10, 20, 21, 30, 31],
    };
    for (const [name, chans] of Object.entries(off)) for (const c of chans) bn(name).gamma[c] = bn(name).beta[c] = 0;
    const r = pruneStructured(m, { conv1: 4 / 16, pwconv3: 8 / 32 }, 'bn-gamma');
    assert.deepEqual(r.channels, { conv1: { before: 16, after: 12 }, pwconv3: { before: 32, after: 24 } });
    const macs = layerMacs(r.model);
    assert.ok(macs.every((v, i) => v <= layerMacs(m)[i]) && totalMacs(r.model) < totalMacs(m));
    const a = logits(m, 24);
    const b = logits(r.model, 24);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `${v} vs ${b[i]}`));
  });

  it("re-estimated batch-norm statistics are the moments of each batch norm's input; unknown layers are refused", () => {
    const m = pruneStructured(zoo('fashion_cnn'), { conv1: 0.5, pwconv3: 0.5 }).model;
    const x = inputBatch(loadFashionMnist('train', 200), range(200), m.inputShape);
    const net = new TrainableNet(m);
    net.recalibrateBatchNorm(x);
    const fresh = net.toModel();
    net.dispose();
    fresh.layers.forEach((l, k) => {
      if (l.kind !== 'batchnorm') return;
      const prefix = new TrainableNet({ ...fresh, layers: fresh.layers.slice(0, k) });
      const h = tf.reshape(prefix.forward(x), [-1, l.mean.length]);
      const { mean, variance } = tf.moments(h, 0);
      mean
        .dataSync()
        .forEach((v, c) => assert.ok(Math.abs(v - l.mean[c]) < 1e-4 * (1 + Math.abs(v)), `${l.name} mean[${c}]`));
      variance
        .dataSync()
        .forEach((v, c) => assert.ok(Math.abs(v - l.variance[c]) < 1e-3 * (1 + v), `${l.name} variance[${c}]`));
      prefix.dispose();
    });
    const before = (zoo('fashion_cnn').layers.find((l) => l.name === 'bn3') as { mean: Float32Array }).mean;
    const after = (fresh.layers.find((l) => l.name === 'bn3') as { mean: Float32Array }).mean;
    assert.ok(
      after.some((v, c) => Math.abs(v - before[c]) > 1e-3),
      'bn3 sees fewer input channels: its statistics changed',
    );
    assert.throws(() => pruneStructured(zoo('fashion_cnn'), { dwconv2: 0.5 }), /no prunable channels/);
  });

  it('half of every channel group by L1 norm: half the channels, under half the MACs, the kept channels are the largest', () => {
    const m = zoo('fashion_cnn');
    const r = pruneStructured(m, 0.5, 'l1');
    assert.deepEqual(
      Object.values(r.channels).map((c) => c.after),
      [8, 16, 20],
    );
    assert.ok(totalMacs(r.model) < 0.5 * totalMacs(m), `${totalMacs(r.model)} vs ${totalMacs(m)}`);
    const k = (m.layers[0] as { kernel: Float32Array }).kernel;
    const norms = Array.from({ length: 16 }, (_, c) =>
      Array.from({ length: 9 }, (_, i) => Math.abs(k[i * 16 + c])).reduce((a, b) => a + b, 0),
    );
    const kept = new Set(
      Array.from(norms.keys())
        .sort((a, b) => norms[b] - norms[a])
        .slice(0, 8),
    );
    const k2 = (r.model.layers[0] as { kernel: Float32Array }).kernel;
    const keptNorms = Array.from({ length: 8 }, (_, c) =>
      Array.from({ length: 9 }, (_, i) => Math.abs(k2[i * 8 + c])).reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(keptNorms.map((v) => v.toFixed(6)).sort(), [...kept].map((c) => norms[c].toFixed(6)).sort());
  });
});
