// The one-op CONV_2D and DEPTHWISE_CONV_2D cases of the kernel tests (test/kernels/conv2d.test.ts,
// depthwise-conv2d.test.ts): geometry from host/ir/shape.ts's window helper, random weights, bias and
// requantization from a seed.

import type { WeightLayout } from '../../host/blob/weights';
import type { Conv2DOptions, WeightBits } from '../../host/ir/qmodel';
import { numel, type WindowPadding, windowPadding2D } from '../../host/ir/shape';
import type { RoundingMode } from '../../host/quantize/fixedpoint';
import { Rng } from '../../host/util/rng';
import { activation, bias, constant, type KernelCase, kernelCase, randomRequant } from '../helpers/kernel-runner';

export interface ConvSpec {
  hw: [number, number];
  channels: number;
  outChannels: number;
  kernel: [number, number];
  stride?: [number, number];
  dilation?: [number, number];
  padding?: WindowPadding;
  inputZeroPoint?: number;
  outputZeroPoint?: number;
  bounds?: [number, number];
  perChannel?: boolean;
  rounding?: RoundingMode;
  bits?: WeightBits;
  layout?: WeightLayout;
  sparsity?: number;
  /** The bias of every channel (default: random). */
  biasValue?: number;
  /** The weights' values are drawn from −w..w. */
  weightRange?: number;
  /** Output shifts large enough that most outputs saturate. */
  saturate?: boolean;
  /** Every channel's output shift (default: random). */
  shift?: number;
  /** DEPTHWISE_CONV_2D with this depth multiplier (outChannels is then channels × it). */
  depthMultiplier?: number;
}

/** A CONV_2D case, or DEPTHWISE_CONV_2D when `depthMultiplier` is set. */
export function convCase(name: string, spec: ConvSpec, seed: number): KernelCase {
  const rng = new Rng(seed);
  const [H, W] = spec.hw;
  const [kH, kW] = spec.kernel;
  const stride = spec.stride ?? [1, 1];
  const dilation = spec.dilation ?? [1, 1];
  const { pads, outH, outW } = windowPadding2D(spec.padding ?? 'valid', [H, W], [kH, kW], stride, dilation);
  const bits = spec.bits ?? 8;
  const range = Math.min(spec.weightRange ?? 127, bits === 8 ? 127 : bits === 4 ? 7 : 1);
  const m = spec.depthMultiplier;
  const outChannels = m ? spec.channels * m : spec.outChannels;
  const wShape = m ? [1, kH, kW, outChannels] : [outChannels, kH, kW, spec.channels];
  const w = constant(
    'w',
    wShape,
    Array.from({ length: numel(wShape) }, () => (rng.next() < (spec.sparsity ?? 0) ? 0 : rng.int(-range, range))),
    bits,
  );
  const b = bias(
    'b',
    Array.from({ length: outChannels }, () => spec.biasValue ?? rng.int(-20000, 20000)),
  );
  const requant = randomRequant(rng, spec.perChannel === false ? 1 : outChannels, spec.saturate);
  if (spec.shift !== undefined) requant.output_shift.fill(spec.shift);
  const zpIn = spec.inputZeroPoint ?? rng.int(-20, 20);
  const zpOut = spec.outputZeroPoint ?? rng.int(-20, 20);
  const [lo, hi] = spec.bounds ?? [-128, 127];
  const options: Conv2DOptions = {
    stride_h: stride[0],
    stride_w: stride[1],
    dilation_h: dilation[0],
    dilation_w: dilation[1],
    pad_top: pads[0],
    pad_left: pads[1],
    depth_multiplier: m ?? 1,
    input_zero_point: zpIn,
    output_zero_point: zpOut,
    activation_min: lo,
    activation_max: hi,
    ...requant,
  };
  return kernelCase(
    name,
    m ? 'DEPTHWISE_CONV_2D' : 'CONV_2D',
    options,
    [activation('x', [1, H, W, spec.channels], 0.05, zpIn), w, b],
    activation('y', [1, outH, outW, outChannels], 0.1, zpOut),
    { rounding: spec.rounding, layout: spec.layout, seed },
  );
}
