// CONV_2D through the kernel runner: strides, dilations, SAME/VALID padding, 1×1 and odd pixel counts (the kernel
// pairs pixels), zero points at their ends, per-channel and per-tensor requantization in every rounding mode,
// saturation, int32 bias at the accumulator's bound, and 4-/2-bit and sparse weights.

import { strict as assert } from 'assert';
import {
  activation,
  bias,
  constant,
  describeKernelCases,
  hostOutputs,
  IDENTITY_REQUANT,
  type KernelCase,
  kernelCase,
} from '../helpers/kernel-runner';
import { type ConvSpec, convCase, convOptions } from './conv-case';

describe('CONV_2D golden values', () => {
  it('a 2×2 kernel over a 3×3 input, VALID, with an identity requantization', () => {
    // y = bias + Σ x·w over the window.
    const x = activation('x', [1, 3, 3, 1]);
    const w = constant('w', [1, 2, 2, 1], [1, 2, 3, 4]);
    const c = kernelCase(
      'golden',
      'CONV_2D',
      convOptions(IDENTITY_REQUANT),
      [x, w, bias('b', [10])],
      activation('y', [1, 2, 2, 1]),
      { values: [Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9])] },
    );
    // [[1,2],[4,5]]·[1,2,3,4] = 1+4+12+20 = 37 (+10); [2,3,5,6]: 2+6+15+24 = 47; [4,5,7,8]: 67; [5,6,8,9]: 77.
    assert.deepEqual([...hostOutputs(c)[0]], [47, 57, 77, 87]);
  });
});

describeKernelCases('CONV_2D', () => {
  const cases: KernelCase[] = [];
  let seed = 100;
  const add = (name: string, spec: ConvSpec) => cases.push(convCase(name, spec, seed++));
  const base = { hw: [5, 6] as [number, number], channels: 3, outChannels: 5, kernel: [3, 3] as [number, number] };
  add('3×3 SAME', { ...base, padding: 'same' });
  add('3×3 VALID', base);
  add('3×3 stride 2 SAME', { ...base, stride: [2, 2], padding: 'same' });
  add('3×3 stride 2×1 VALID', { ...base, stride: [2, 1] });
  add('3×3 dilation 2 SAME', { ...base, hw: [7, 7], dilation: [2, 2], padding: 'same' });
  add('2×3 dilation 1×2 stride 1×2 SAME_LOWER', {
    ...base,
    kernel: [2, 3],
    dilation: [1, 2],
    stride: [1, 2],
    padding: 'same_lower',
  });
  add('1×1 on 5×5 (an odd pixel count)', { ...base, hw: [5, 5], kernel: [1, 1] });
  add('1×1 on 1×1 (one pixel)', { ...base, hw: [1, 1], kernel: [1, 1], channels: 16, outChannels: 7 });
  add('5×1 kernel, one input channel', { ...base, kernel: [5, 1], channels: 1, padding: 'same' });
  add('kernel as large as the input', { ...base, hw: [3, 3], kernel: [3, 3] });
  add('input zero point −128, output zero point 127', {
    ...base,
    padding: 'same',
    inputZeroPoint: -128,
    outputZeroPoint: 127,
  });
  add('input zero point 127, output zero point −128', {
    ...base,
    padding: 'same',
    inputZeroPoint: 127,
    outputZeroPoint: -128,
  });
  add('ReLU6-like bounds', { ...base, padding: 'same', bounds: [-128, -80] });
  add('bounds a single value', { ...base, bounds: [3, 3] });
  add('per-tensor requantization', { ...base, perChannel: false });
  add('saturating shifts', { ...base, padding: 'same', saturate: true });
  // |bias| + 128·Σ|w| at exactly int32's bound (the verifier's ACCUMULATOR check): the accumulator cannot wrap.
  const edgeW = 3 * 3 * 3; // weights per channel (3×3×3), each within ±1
  // The shift brings acc ≈ ±2^31 to about ±64..128, so a wrapped accumulator would show as the opposite sign.
  add('bias at +int32 bound', { ...base, weightRange: 1, biasValue: 2147483647 - 128 * edgeW, shift: -25 });
  add('bias at −int32 bound', { ...base, weightRange: 1, biasValue: -2147483647 + 128 * edgeW, shift: -25 });
  for (const rounding of ['single', 'tflite'] as const)
    add(`${rounding} rounding`, { ...base, padding: 'same', rounding });
  for (const bits of [4, 2] as const) add(`${bits}-bit weights`, { ...base, padding: 'same', bits, layout: 'dense' });
  for (const layout of ['bitmask', 'run_length', 'csr'] as const)
    add(`${layout} weights, 90% zeros`, { ...base, padding: 'same', layout, sparsity: 0.9 });
  add('4-bit csr weights', { ...base, bits: 4, layout: 'csr', sparsity: 0.7 });
  return cases;
});
