// Students for distillation and structure search: the teacher's architecture with every hidden layer's
// width (Dense units, Conv2D filters) scaled by a multiplier and, for MLPs, a chosen number of hidden Dense
// layers; or an MLP of given hidden widths on the teacher's input. Freshly initialised (Glorot-uniform
// kernels, zero biases, identity batch norms) from a seed.

import { ModelError } from '../ir/graph';
import { Rng } from '../util/rng';
import { type Layer, layerShapes, type SeqModel, type WeightLayer } from './seq-model';

export interface StudentShape {
  /** Multiplier on hidden widths (e.g. 0.25). */
  width: number;
  /** Hidden Dense layers of an MLP (default: the teacher's count). */
  depth?: number;
}

const isMlp = (m: SeqModel) => m.layers.every((l) => l.kind === 'dense' || l.kind === 'flatten' || l.kind === 'relu');

export function studentOf(teacher: SeqModel, shape: StudentShape, seed: number): SeqModel {
  if (!(shape.width > 0)) throw new ModelError(`student width multiplier must be > 0, got ${shape.width}`);
  const rng = new Rng(seed);
  const last = teacher.layers.map((l) => 'kernel' in l).lastIndexOf(true);
  let layers: Layer[] = teacher.layers.map((l) => ({ ...l }));
  if (shape.depth !== undefined) {
    if (!isMlp(teacher)) throw new ModelError('a student depth can only be chosen for MLPs (Dense layers only)');
    if (!(Number.isInteger(shape.depth) && shape.depth >= 0))
      throw new ModelError(`student depth must be an integer ≥ 0, got ${shape.depth}`);
    const hidden = teacher.layers.find((l, i) => l.kind === 'dense' && i !== last) as
      | Extract<Layer, { kind: 'dense' }>
      | undefined;
    const prefix = teacher.layers.filter((l) => l.kind === 'flatten');
    const units = hidden?.units ?? 128;
    layers = [
      ...prefix,
      ...Array.from(
        { length: shape.depth },
        (_, i): Layer => ({
          kind: 'dense',
          name: `fc${i + 1}`,
          units,
          activation: 'relu',
          kernel: new Float32Array(0),
          bias: new Float32Array(0),
        }),
      ),
      { ...(teacher.layers[last] as WeightLayer) },
    ];
  }
  const lastOut = layers.map((l) => 'kernel' in l).lastIndexOf(true);
  // Widths first (so shapes can be derived), then weights.
  layers.forEach((l, i) => {
    if (i === lastOut) return;
    if (l.kind === 'dense') l.units = Math.max(1, Math.round(l.units * shape.width));
    if (l.kind === 'conv2d') l.filters = Math.max(1, Math.round(l.filters * shape.width));
  });
  let channels = teacher.inputShape.at(-1)!;
  let flat = teacher.inputShape.reduce((a, b) => a * b, 1);
  const student: SeqModel = { name: `${teacher.name}_student`, inputShape: [...teacher.inputShape], layers };
  layers.forEach((l) => {
    const glorot = (n: number, fanIn: number, fanOut: number) => {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      return Float32Array.from({ length: n }, () => rng.uniform(-lim, lim));
    };
    if (l.kind === 'dense') {
      l.kernel = glorot(flat * l.units, flat, l.units);
      if (l.bias) l.bias = new Float32Array(l.units);
      channels = flat = l.units;
    } else if (l.kind === 'conv2d') {
      const k = l.kernelSize[0] * l.kernelSize[1];
      l.kernel = glorot(k * channels * l.filters, k * channels, k * l.filters);
      if (l.bias) l.bias = new Float32Array(l.filters);
      channels = l.filters;
    } else if (l.kind === 'depthwise_conv2d') {
      const k = l.kernelSize[0] * l.kernelSize[1];
      l.kernel = glorot(k * channels, k, k);
      if (l.bias) l.bias = new Float32Array(channels);
    } else if (l.kind === 'batchnorm') {
      Object.assign(l, {
        gamma: new Float32Array(channels).fill(1),
        beta: new Float32Array(channels),
        mean: new Float32Array(channels),
        variance: new Float32Array(channels).fill(1),
      });
    }
    if (l.kind === 'flatten' || l.kind === 'max_pool' || l.kind === 'depthwise_conv2d' || l.kind === 'conv2d') {
      flat = layerShapes({ ...student, layers: layers.slice(0, layers.indexOf(l) + 1) })
        .at(-1)!
        .reduce((a, b) => a * b, 1);
    }
  });
  layerShapes(student);
  return student;
}

/** Flatten → Dense(h, relu) for each hidden width → Dense(classes), on the teacher's input. */
export function mlpStudent(teacher: SeqModel, hidden: number[], seed: number): SeqModel {
  if (!hidden.length || hidden.some((h) => !(Number.isInteger(h) && h > 0)))
    throw new ModelError(`MLP student widths must be positive integers, got [${hidden}]`);
  const classes = layerShapes(teacher).at(-1)![0];
  const layers: Layer[] = [
    ...(teacher.inputShape.length > 1 ? [{ kind: 'flatten', name: 'flatten' } as Layer] : []),
    ...hidden.map(
      (units, i): Layer => ({
        kind: 'dense',
        name: `fc${i + 1}`,
        units,
        activation: 'relu',
        kernel: new Float32Array(0),
        bias: new Float32Array(0),
      }),
    ),
    {
      kind: 'dense',
      name: 'logits',
      units: classes,
      activation: 'linear',
      kernel: new Float32Array(0),
      bias: new Float32Array(0),
    },
  ];
  return studentOf({ name: teacher.name, inputShape: [...teacher.inputShape], layers }, { width: 1 }, seed);
}
