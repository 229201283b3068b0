// TRANSPOSE_CONV through the kernel runner: strides, dilations, pads (cropping), output padding (outputs no input
// reaches), zero points at their ends, per-channel and per-tensor requantization in every rounding mode, saturation,
// and int32 bias at the accumulator's bound. The host reference scatters as TFLM does; the device gathers.

import { strict as assert } from 'assert';
import type { RoundingMode } from '../../host/quantize/fixedpoint';
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
import { convOptions } from './conv-case';

interface TransposeSpec extends WeightSpec {
  hw: [number, number];
  channels: number;
  outChannels: number;
  kernel: [number, number];
  stride?: [number, number];
  dilation?: [number, number];
  /** Rows and columns cropped from the full output before (top, left) and after (bottom, right). */
  pads?: [number, number, number, number];
  /** Rows and columns added after the full output (ONNX output_padding). */
  outputPadding?: [number, number];
  inputZeroPoint?: number;
  outputZeroPoint?: number;
  bounds?: [number, number];
  rounding?: RoundingMode;
}

function transposeCase(name: string, spec: TransposeSpec, seed: number): KernelCase {
  const rng = new Rng(seed);
  const [H, W] = spec.hw;
  const [kH, kW] = spec.kernel;
  const [sh, sw] = spec.stride ?? [1, 1];
  const [dh, dw] = spec.dilation ?? [1, 1];
  const [pt, pl, pb, pr] = spec.pads ?? [0, 0, 0, 0];
  const [oph, opw] = spec.outputPadding ?? [0, 0];
  const outH = (H - 1) * sh + (kH - 1) * dh + 1 - pt - pb + oph;
  const outW = (W - 1) * sw + (kW - 1) * dw + 1 - pl - pr + opw;
  const { w, b, requant } = weightedOperands(rng, spec, [spec.outChannels, kH, kW, spec.channels], spec.outChannels);
  const zpIn = spec.inputZeroPoint ?? rng.int(-20, 20);
  const zpOut = spec.outputZeroPoint ?? rng.int(-20, 20);
  const [lo, hi] = spec.bounds ?? [-128, 127];
  const options = convOptions({
    stride_h: sh,
    stride_w: sw,
    dilation_h: dh,
    dilation_w: dw,
    pad_top: pt,
    pad_left: pl,
    input_zero_point: zpIn,
    output_zero_point: zpOut,
    activation_min: lo,
    activation_max: hi,
    ...requant,
  });
  return kernelCase(
    name,
    'TRANSPOSE_CONV',
    options,
    [activation('x', [1, H, W, spec.channels], 0.05, zpIn), w, b],
    activation('y', [1, outH, outW, spec.outChannels], 0.1, zpOut),
    { rounding: spec.rounding, seed },
  );
}

describe('TRANSPOSE_CONV golden values', () => {
  it('a 2×2 kernel, stride 2, over a 2×2 input scatters each pixel into its own 2×2 block', () => {
    const c = kernelCase(
      'golden',
      'TRANSPOSE_CONV',
      convOptions({ ...IDENTITY_REQUANT, stride_h: 2, stride_w: 2 }),
      [activation('x', [1, 2, 2, 1]), constant('w', [1, 2, 2, 1], [1, 2, 3, 4]), bias('b', [10])],
      activation('y', [1, 4, 4, 1]),
      { values: [Int8Array.from([1, 2, 3, 4])] },
    );
    // y[2i+ky, 2j+kx] = 10 + x[i,j]·w[ky,kx].
    assert.deepEqual([...hostOutputs(c)[0]], [11, 12, 12, 14, 13, 14, 16, 18, 13, 16, 14, 18, 19, 22, 22, 26]);
  });

  it('overlapping taps (3×3, stride 2) add up; the zero point is subtracted from each input', () => {
    const c = kernelCase(
      'golden overlap',
      'TRANSPOSE_CONV',
      convOptions({ ...IDENTITY_REQUANT, stride_h: 2, stride_w: 2, input_zero_point: 1 }),
      [
        activation('x', [1, 1, 2, 1], 0.05, 1),
        constant('w', [1, 3, 3, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1]),
        bias('b', [-9]),
      ],
      activation('y', [1, 3, 5, 1]),
      { values: [Int8Array.from([3, 5])] },
    );
    // The blob's bias is folded: −9 = 0 − zp·Σw. x − zp = [2, 4]: columns 0..2 get 2, columns 2..4 get 4, column 2
    // both.
    assert.deepEqual([...hostOutputs(c)[0]], [2, 2, 6, 4, 4, 2, 2, 6, 4, 4, 2, 2, 6, 4, 4]);
  });
});

describeKernelCases('TRANSPOSE_CONV', () => {
  const cases: KernelCase[] = [];
  let seed = 500;
  const add = (name: string, spec: TransposeSpec) => cases.push(transposeCase(name, spec, seed++));
  const base = { hw: [4, 5] as [number, number], channels: 3, outChannels: 4, kernel: [3, 3] as [number, number] };
  add('3×3 stride 1', base);
  add('3×3 stride 2', { ...base, stride: [2, 2] });
  add('3×3 stride 2, pads 1 (cropped)', { ...base, stride: [2, 2], pads: [1, 1, 1, 1] });
  add('3×3 stride 2, output padding 1', { ...base, stride: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] });
  add('4×4 stride 2 pads 1 (the usual 2× upsampler)', { ...base, kernel: [4, 4], stride: [2, 2], pads: [1, 1, 1, 1] });
  add('2×3 stride 3×2, uneven pads', { ...base, kernel: [2, 3], stride: [3, 2], pads: [0, 2, 1, 0] });
  add('kernel smaller than the stride (rows no tap reaches)', { ...base, kernel: [2, 2], stride: [3, 3] });
  add('3×3 dilation 2 stride 2', { ...base, dilation: [2, 2], stride: [2, 2], pads: [1, 2, 0, 1] });
  add('1-D: H = 1, 1×5 stride 1×3', { ...base, hw: [1, 7], kernel: [1, 5], stride: [1, 3], pads: [0, 1, 0, 1] });
  add('1×1 on 1×1 (one pixel)', { ...base, hw: [1, 1], kernel: [1, 1], channels: 16, outChannels: 7 });
  add('input zero point −128, output zero point 127', {
    ...base,
    stride: [2, 2],
    inputZeroPoint: -128,
    outputZeroPoint: 127,
  });
  add('input zero point 127, output zero point −128', {
    ...base,
    stride: [2, 2],
    inputZeroPoint: 127,
    outputZeroPoint: -128,
  });
  add('ReLU6-like bounds', { ...base, stride: [2, 2], bounds: [-128, -80] });
  add('per-tensor requantization', { ...base, stride: [2, 2], perChannel: false });
  add('saturating shifts', { ...base, stride: [2, 2], saturate: true });
  const edgeW = 3 * 3 * 3;
  add('bias at +int32 bound', { ...base, weightRange: 1, biasValue: 2147483647 - 128 * edgeW, shift: -25 });
  add('bias at −int32 bound', { ...base, weightRange: 1, biasValue: -2147483647 + 128 * edgeW, shift: -25 });
  for (const rounding of ['single', 'tflite'] as const)
    add(`${rounding} rounding`, { ...base, stride: [2, 2], rounding });
  return cases;
});
