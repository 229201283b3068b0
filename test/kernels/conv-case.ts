// The one-op CONV_2D and DEPTHWISE_CONV_2D cases of the kernel tests (test/kernels/conv2d.test.ts,
// depthwise-conv2d.test.ts): geometry from host/ir/shape.ts's window helper, random weights, bias and
// requantization from a seed.

import type { Conv2DOptions } from '../../host/ir/qmodel';
import { type WindowPadding, windowPadding2D } from '../../host/ir/shape';
import { Rng } from '../../host/util/rng';
import { activation, type KernelCase, kernelCase, type WeightSpec, weightedOperands } from '../helpers/kernel-runner';

export interface ConvSpec extends WeightSpec {
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
  /** DEPTHWISE_CONV_2D with this depth multiplier (outChannels is then channels × it). */
  depthMultiplier?: number;
}

/** Conv2DOptions with `o` over the defaults: stride and dilation 1, no padding, zero points 0, full int8 bounds. */
export function convOptions(o: Partial<Conv2DOptions> & Pick<Conv2DOptions, 'output_multiplier' | 'output_shift'>) {
  const defaults = { stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1, pad_top: 0, pad_left: 0 };
  const rest = {
    depth_multiplier: 1,
    input_zero_point: 0,
    output_zero_point: 0,
    activation_min: -128,
    activation_max: 127,
  };
  return { ...defaults, ...rest, ...o };
}

/** A CONV_2D case, or DEPTHWISE_CONV_2D when `depthMultiplier` is set. */
export function convCase(name: string, spec: ConvSpec, seed: number): KernelCase {
  const rng = new Rng(seed);
  const [H, W] = spec.hw;
  const [kH, kW] = spec.kernel;
  const stride = spec.stride ?? [1, 1];
  const dilation = spec.dilation ?? [1, 1];
  const { pads, outH, outW } = windowPadding2D(spec.padding ?? 'valid', [H, W], [kH, kW], stride, dilation);
  const m = spec.depthMultiplier;
  const outChannels = m ? spec.channels * m : spec.outChannels;
  const wShape = m ? [1, kH, kW, outChannels] : [outChannels, kH, kW, spec.channels];
  const { w, b, requant } = weightedOperands(rng, spec, wShape, outChannels);
  const zpIn = spec.inputZeroPoint ?? rng.int(-20, 20);
  const zpOut = spec.outputZeroPoint ?? rng.int(-20, 20);
  const [lo, hi] = spec.bounds ?? [-128, 127];
  const options = convOptions({
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
  });
  return kernelCase(
    name,
    m ? 'DEPTHWISE_CONV_2D' : 'CONV_2D',
    options,
    [activation('x', [1, H, W, spec.channels], 0.05, zpIn), w, b],
    activation('y', [1, outH, outW, outChannels], 0.1, zpOut),
    { rounding: spec.rounding, layout: spec.layout, seed },
  );
}
