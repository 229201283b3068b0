import { strict as assert } from 'assert';
import * as path from 'path';
import { loadLayersModel } from '../host/compress/layers-io';
import { isWeightLayer, layerShapes, totalMacs } from '../host/compress/seq-model';
import { mlpStudent, studentOf } from '../host/compress/student';

const ROOT = path.join(__dirname, '..', '..');
const zoo = (name: string) => loadLayersModel(path.join(ROOT, 'models', name, 'model.json'));

describe('compress: students', () => {
  it('a quarter-width MLP student has a quarter of the MACs; depth sets the hidden layer count', () => {
    const t = zoo('fashion_mlp');
    const s = studentOf(t, { width: 0.25 }, 1);
    assert.equal(totalMacs(s) * 4, totalMacs(t));
    assert.deepEqual(layerShapes(s).at(-1), [10]);
    const deep = studentOf(t, { width: 0.5, depth: 3 }, 1);
    assert.deepEqual(deep.layers.filter(isWeightLayer).map((l) => l.kind === 'dense' && l.units), [64, 64, 64, 10]);
    assert.throws(() => studentOf(zoo('fashion_cnn'), { width: 0.5, depth: 2 }, 1), /only be chosen for MLPs/);
  });

  it('a CNN student scales every hidden width, keeps the output and its batch norms start as identities', () => {
    const t = zoo('fashion_cnn');
    const s = studentOf(t, { width: 0.5 }, 3);
    const widths = (m: typeof t) => m.layers.filter(isWeightLayer).map((l) => (l.kind === 'dense' ? l.units : l.kind === 'conv2d' ? l.filters : -1));
    assert.deepEqual(widths(s), [8, -1, 16, 20, 10]);
    assert.deepEqual(widths(t), [16, -1, 32, 40, 10]);
    for (const l of s.layers) if (l.kind === 'batchnorm') assert.ok(l.gamma.every((g) => g === 1) && l.mean.every((m) => m === 0) && l.variance.every((v) => v === 1));
    assert.ok(totalMacs(s) < totalMacs(t) / 2);
  });

  it('students are reproducible from their seed and differ between seeds', () => {
    const t = zoo('fashion_mlp');
    const k = (seed: number) => (studentOf(t, { width: 0.25 }, seed).layers[0] as { kernel: Float32Array }).kernel;
    assert.deepEqual(k(5), k(5));
    assert.notDeepEqual(k(5), k(6));
  });

  it('an MLP student of a CNN teacher flattens the image input and ends in the teacher\'s classes', () => {
    const s = mlpStudent(zoo('fashion_cnn'), [80], 1);
    assert.deepEqual(s.layers.map((l) => l.kind), ['flatten', 'dense', 'dense']);
    assert.deepEqual(s.inputShape, [28, 28, 1]);
    assert.equal(totalMacs(s), 784 * 80 + 80 * 10);
    assert.ok(4 * totalMacs(s) <= totalMacs(zoo('fashion_cnn')));
    assert.throws(() => mlpStudent(zoo('fashion_cnn'), [0], 1), /positive integers/);
  });
});
