// FULLY_CONNECTED through the kernel runner: batches, depths and output counts around the kernel's four-row step,
// zero points, per-channel and per-tensor requantization in every rounding mode, saturation, int32 bias at the
// accumulator's bound, and 4-/2-bit, bitmask, run-length and CSR weights.

import { strict as assert } from 'assert';
import { Rng } from '../../host/util/rng';
import {
  activation,
  bias,
  constant,
  describeKernelCases,
  hostOutputs,
  IDENTITY_REQUANT,
  type KernelCase,
  kernelCase,
  type WeightSpec,
  weightedOperands,
} from '../helpers/kernel-runner';

interface FcSpec extends WeightSpec {
  batches: number;
  depth: number;
  outs: number;
  zeroPoint?: number;
}

function fcCase(name: string, spec: FcSpec, seed: number): KernelCase {
  const rng = new Rng(seed);
  const { w, b, requant } = weightedOperands(rng, spec, [spec.outs, spec.depth], spec.outs);
  const zp = spec.zeroPoint ?? rng.int(-20, 20);
  return kernelCase(
    name,
    'FULLY_CONNECTED',
    { output_zero_point: zp, activation_min: -128, activation_max: 127, ...requant },
    [activation('x', [spec.batches, spec.depth]), w, b],
    activation('y', [spec.batches, spec.outs], 0.1, zp),
    { rounding: spec.rounding, layout: spec.layout, seed },
  );
}

describe('FULLY_CONNECTED golden values', () => {
  it('two batches of depth 3 into two outputs, identity requantization, output zero point 3', () => {
    const c = kernelCase(
      'golden',
      'FULLY_CONNECTED',
      { output_zero_point: 3, activation_min: -128, activation_max: 127, ...IDENTITY_REQUANT },
      [activation('x', [2, 3]), constant('w', [2, 3], [1, 2, 3, -1, 0, 1]), bias('b', [-5, 7])],
      activation('y', [2, 2], 0.05, 3),
      { values: [Int8Array.from([1, 1, 1, 10, 20, 30]), Int8Array.from([100, 100, 100, -128, 0, 127])] },
    );
    // [1,1,1]: 6−5+3 = 4, 0+7+3 = 10; [10,20,30]: 140−5+3 = 138 → 127, 20+7+3 = 30.
    // [100,100,100]: 600 → 127, 0+7+3 = 10; [−128,0,127]: −128+381−5+3 = 251 → 127, 255+7+3 → 127.
    assert.deepEqual(
      hostOutputs(c).map((y) => [...y]),
      [
        [4, 10, 127, 30],
        [127, 10, 127, 127],
      ],
    );
  });
});

describeKernelCases('FULLY_CONNECTED', () => {
  const cases: KernelCase[] = [];
  let seed = 300;
  const add = (name: string, spec: FcSpec) => cases.push(fcCase(name, spec, seed++));
  add('1×16 → 8', { batches: 1, depth: 16, outs: 8 });
  add('3×10 → 7 (outputs not a multiple of 4)', { batches: 3, depth: 10, outs: 7 });
  add('1×1 → 1', { batches: 1, depth: 1, outs: 1 });
  add('2×5 → 1', { batches: 2, depth: 5, outs: 1 });
  add('1×300 → 5 (long rows)', { batches: 1, depth: 300, outs: 5 });
  add('zero point −128', { batches: 2, depth: 12, outs: 6, zeroPoint: -128 });
  add('zero point 127', { batches: 2, depth: 12, outs: 6, zeroPoint: 127 });
  add('per-tensor requantization', { batches: 2, depth: 12, outs: 6, perChannel: false });
  add('saturating shifts', { batches: 2, depth: 12, outs: 6, saturate: true });
  add('bias at +int32 bound', {
    batches: 1,
    depth: 8,
    outs: 4,
    weightRange: 1,
    biasValue: 2147483647 - 128 * 8,
    shift: -25,
  });
  add('bias at −int32 bound', {
    batches: 1,
    depth: 8,
    outs: 4,
    weightRange: 1,
    biasValue: -2147483647 + 128 * 8,
    shift: -25,
  });
  for (const rounding of ['single', 'tflite'] as const)
    add(`${rounding} rounding`, { batches: 2, depth: 9, outs: 5, rounding });
  for (const bits of [4, 2] as const) {
    add(`${bits}-bit weights, odd depth`, { batches: 2, depth: 13, outs: 5, bits, layout: 'dense' });
    add(`${bits}-bit run-length weights`, {
      batches: 1,
      depth: 40,
      outs: 6,
      bits,
      layout: 'run_length',
      sparsity: 0.8,
    });
  }
  for (const layout of ['bitmask', 'run_length', 'csr'] as const)
    add(`${layout} weights, 95% zeros`, { batches: 2, depth: 70, outs: 9, layout, sparsity: 0.95 });
  add('csr weights, a row all zeros', { batches: 1, depth: 20, outs: 4, layout: 'csr', sparsity: 1 });
  return cases;
});
