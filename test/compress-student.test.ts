import { strict as assert } from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { head } from '../host/compress/batches';
import { compressModel } from '../host/compress/compress';
import { loadLayersModel } from '../host/compress/layers-io';
import { isWeightLayer, layerShapes, totalMacs } from '../host/compress/seq-model';
import { mlpStudent, studentOf } from '../host/compress/student';
import { loadFashionMnist } from '../host/data/fashion-mnist';

const ROOT = path.join(__dirname, '..', '..');
const zoo = (name: string) => loadLayersModel(path.join(ROOT, 'models', name, 'model.json'));

describe('compress: students', () => {
  it('a quarter-width MLP student has a quarter of the MACs; depth sets the hidden layer count', () => {
    const t = zoo('fashion_mlp');
    const s = studentOf(t, { width: 0.25 }, 1);
    assert.equal(totalMacs(s) * 4, totalMacs(t));
    assert.deepEqual(layerShapes(s).at(-1), [10]);
    const deep = studentOf(t, { width: 0.5, depth: 3 }, 1);
    assert.deepEqual(
      deep.layers.filter(isWeightLayer).map((l) => l.kind === 'dense' && l.units),
      [64, 64, 64, 10],
    );
    assert.throws(() => studentOf(zoo('fashion_cnn'), { width: 0.5, depth: 2 }, 1), /only be chosen for MLPs/);
  });

  it('a CNN student scales every hidden width, keeps the output and its batch norms start as identities', () => {
    const t = zoo('fashion_cnn');
    const s = studentOf(t, { width: 0.5 }, 3);
    const widths = (m: typeof t) =>
      m.layers.filter(isWeightLayer).map((l) => (l.kind === 'dense' ? l.units : l.kind === 'conv2d' ? l.filters : -1));
    assert.deepEqual(widths(s), [8, -1, 16, 20, 10]);
    assert.deepEqual(widths(t), [16, -1, 32, 40, 10]);
    for (const l of s.layers)
      if (l.kind === 'batchnorm')
        assert.ok(l.gamma.every((g) => g === 1) && l.mean.every((m) => m === 0) && l.variance.every((v) => v === 1));
    assert.ok(totalMacs(s) < totalMacs(t) / 2);
  });

  it('students are reproducible from their seed and differ between seeds', () => {
    const t = zoo('fashion_mlp');
    const k = (seed: number) => (studentOf(t, { width: 0.25 }, seed).layers[0] as { kernel: Float32Array }).kernel;
    assert.deepEqual(k(5), k(5));
    assert.notDeepEqual(k(5), k(6));
  });

  it("an MLP student of a CNN teacher flattens the image input and ends in the teacher's classes", () => {
    const s = mlpStudent(zoo('fashion_cnn'), [80], 1);
    assert.deepEqual(
      s.layers.map((l) => l.kind),
      ['flatten', 'dense', 'dense'],
    );
    assert.deepEqual(s.inputShape, [28, 28, 1]);
    assert.equal(totalMacs(s), 784 * 80 + 80 * 10);
    assert.ok(4 * totalMacs(s) <= totalMacs(zoo('fashion_cnn')));
    assert.throws(() => mlpStudent(zoo('fashion_cnn'), [0], 1), /positive integers/);
  });
});

describe('compress: distillation compared over seeds', function () {
  this.timeout(120000);
  const all = loadFashionMnist('train', 800);
  const px = all.images.length / all.count;
  const train = { images: all.images.subarray(0, 600 * px), labels: all.labels.subarray(0, 600), count: 600 };
  const val = { images: all.images.subarray(600 * px), labels: all.labels.subarray(600), count: 200 };
  const data = { train, val, test: head(loadFashionMnist('test', 200)), calib: 'fashion-mnist:train' };
  const distil = (seeds: number) =>
    compressModel(
      zoo('fashion_mlp'),
      data,
      {
        distill: { width: 0.25, init: 'scratch', alpha: 0.9, temperature: 4, epochs: 1, seeds },
        epochs: 1,
        lr: 2e-3,
        seed: 3,
        quiet: true,
      },
      { source: 'mlp', command: 'test' },
    ).record;
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  it("each seed trains the same student with and without the teacher; the first seed's distilled student is the result", () => {
    const two = distil(2);
    const extra = two.steps[0].extra as {
      seeds: { seed: number; withTeacher: number; withoutTeacher: number }[];
      meanWithTeacher: number;
      meanWithoutTeacher: number;
    };
    assert.deepEqual(
      extra.seeds.map((s) => s.seed),
      [3, 4],
    );
    assert.equal(two.results.compressed.floatTestAccuracy, extra.seeds[0].withTeacher);
    assert.equal(two.results.studentWithoutTeacher!.floatTestAccuracy, extra.seeds[0].withoutTeacher);
    assert.ok(Math.abs(extra.meanWithTeacher - (extra.seeds[0].withTeacher + extra.seeds[1].withTeacher) / 2) < 1e-12);
    assert.ok(
      Math.abs(extra.meanWithoutTeacher - (extra.seeds[0].withoutTeacher + extra.seeds[1].withoutTeacher) / 2) < 1e-12,
    );
    assert.match(two.steps[0].detail, /over seeds 3, 4: .* mean /);
    // The first seed is the very run a single-seed comparison makes.
    const one = distil(1);
    assert.deepEqual((one.steps[0].extra as typeof extra).seeds, extra.seeds.slice(0, 1));
    assert.doesNotMatch(one.steps[0].detail, /over seeds/);
  });

  it('a --kd teacher must end in the same classes as the model', () => {
    const teacher = mlpStudent(zoo('fashion_mlp'), [8], 1);
    Object.assign(teacher.layers.at(-1)!, { units: 5, kernel: new Float32Array(8 * 5), bias: new Float32Array(5) });
    assert.throws(
      () =>
        compressModel(
          zoo('fashion_mlp'),
          data,
          {
            prune: { sparsity: 0.5, scope: 'global' },
            kd: { alpha: 0.5, temperature: 4, teacher },
            epochs: 1,
            lr: 1e-3,
            seed: 1,
            quiet: true,
          },
          { source: 'mlp', command: 'test' },
        ),
      /the teacher's output \(5\) differs from the model's \(10\)/,
    );
  });
});
