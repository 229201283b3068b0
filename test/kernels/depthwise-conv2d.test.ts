// DEPTHWISE_CONV_2D through the kernel runner: depth multipliers 1–3, strides, dilations, padding, channel counts
// that are and are not multiples of the kernel's three-tap step, zero points at their ends, saturation, int32 bias
// at the accumulator's bound and every rounding mode (TFLite mode keeps double rounding here).

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

describe('DEPTHWISE_CONV_2D golden values', () => {
  it('two channels, depth multiplier 1, a 1×2 kernel with stride 2 and left padding', () => {
    // Channel c reads input channel c; the tap left of the input reads input_zero_point (5). y = bias + Σ x·w − 1.
    const c = kernelCase(
      'golden',
      'DEPTHWISE_CONV_2D',
      convOptions({ stride_w: 2, pad_left: 1, input_zero_point: 5, output_zero_point: -1, ...IDENTITY_REQUANT }),
      [activation('x', [1, 1, 4, 2], 0.05, 5), constant('w', [1, 1, 2, 2], [1, -1, 2, 3]), bias('b', [0, 100])],
      activation('y', [1, 1, 2, 2], 0.05, -1),
      { values: [Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8])] },
    );
    // Output x=0 reads [pad, x0]: ch0 5·1 + 1·2 = 7 → 6; ch1 100 + 5·−1 + 2·3 = 101 → 100.
    // Output x=1 reads [x1, x2]: ch0 3·1 + 5·2 = 13 → 12; ch1 100 + 4·−1 + 6·3 = 114 → 113.
    assert.deepEqual([...hostOutputs(c)[0]], [6, 100, 12, 113]);
  });
});

describeKernelCases('DEPTHWISE_CONV_2D', () => {
  const cases: KernelCase[] = [];
  let seed = 200;
  const add = (name: string, spec: ConvSpec) => cases.push(convCase(name, spec, seed++));
  const base = {
    hw: [6, 5] as [number, number],
    channels: 4,
    outChannels: 0,
    kernel: [3, 3] as [number, number],
    depthMultiplier: 1,
  };
  add('3×3 SAME', { ...base, padding: 'same' });
  add('3×3 VALID', base);
  add('3×3 stride 2 SAME', { ...base, stride: [2, 2], padding: 'same' });
  add('3×3 dilation 2 SAME', { ...base, hw: [7, 7], dilation: [2, 2], padding: 'same' });
  add('depth multiplier 2', { ...base, depthMultiplier: 2, padding: 'same' });
  add('depth multiplier 3, one input channel', { ...base, channels: 1, depthMultiplier: 3, padding: 'same' });
  add('5 channels, 1×5 kernel', { ...base, channels: 5, kernel: [1, 5], padding: 'same' });
  add('2×2 kernel stride 1×2 SAME_LOWER', { ...base, kernel: [2, 2], stride: [1, 2], padding: 'same_lower' });
  add('1×1 kernel', { ...base, kernel: [1, 1] });
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
  add('narrow bounds', { ...base, padding: 'same', bounds: [-10, 20] });
  add('per-tensor requantization', { ...base, perChannel: false, padding: 'same' });
  add('saturating shifts', { ...base, saturate: true });
  add('bias at +int32 bound', { ...base, weightRange: 1, biasValue: 2147483647 - 128 * 9, shift: -25 });
  add('bias at −int32 bound', { ...base, weightRange: 1, biasValue: -2147483647 + 128 * 9, shift: -25 });
  for (const rounding of ['single', 'tflite'] as const)
    add(`${rounding} rounding`, { ...base, padding: 'same', rounding });
  return cases;
});
