// TFLite Micro's "Prepare" for every opcode: from tensors' quantization parameters to the option tables of
// host/ir/qmodel.ts (requantization multipliers, shifts, offsets, clamp bounds, lookup tables). Pure functions,
// shared by our quantizer and the TFLite importer, so each one follows TFLM's reference kernels to the letter,
// including where TFLM computes in float32 before widening to double.

import { type Clamp, ModelError } from '../ir/graph';
import type {
  ArithmeticOptions,
  Conv2DOptions,
  FullyConnectedOptions,
  LayerNormOptions,
  LogSoftmaxOptions,
  LutOptions,
  BatchMatMulOptions,
  MeanOptions,
  MulOptions,
  ReduceOptions,
  PadOptions,
  Pool2DOptions,
  PreluOptions,
  SoftmaxOptions,
} from '../ir/qmodel';
import {
  clampInt,
  f32,
  frexp,
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  type QuantizedMultiplier,
  roundingDivideByPOT,
  type Rounding,
} from './fixedpoint';
import { erf } from '../ir/elementwise';
import { expOnNegativeValues, logistic, tanh } from './gemmlowp';
import { elementsPerChannel } from '../ir/shape';

/** Per-tensor affine quantization: real = scale · (q − zeroPoint), scale a float32 value. */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

const INT8_MIN = -128;
const INT8_MAX = 127;

/** TfLiteRound / std::round: half away from zero. */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/**
 * CalculateActivationRangeQuantized generalised from relu/relu6/relu_n1_to_1 to any clamp in real units:
 * each finite bound becomes zp + round(f32(bound / scale)), then int8 limits apply.
 */
export function activationRange(output: QParams, clamp?: Clamp): { activation_min: number; activation_max: number } {
  const quantize = (f: number) => output.zeroPoint + roundHalfAway(f32(f / output.scale));
  const lo = clamp && Number.isFinite(clamp.min) ? Math.max(INT8_MIN, quantize(clamp.min)) : INT8_MIN;
  const hi = clamp && Number.isFinite(clamp.max) ? Math.min(INT8_MAX, quantize(clamp.max)) : INT8_MAX;
  if (lo > hi)
    throw new ModelError(
      `clamp [${clamp?.min}, ${clamp?.max}] lies outside the output's int8 range (scale ${output.scale}, zero point ${output.zeroPoint})`,
    );
  return { activation_min: lo, activation_max: hi };
}

function multiplier(real: number, rounding: Rounding, what: string): QuantizedMultiplier {
  try {
    return quantizeMultiplier(real, rounding);
  } catch {
    throw new ModelError(`${what}: effective scale ${real} cannot be represented as an int32 multiplier`);
  }
}

function requantVectors(ms: QuantizedMultiplier[]): { output_multiplier: number[]; output_shift: number[] } {
  const same = ms.every((m) => m.multiplier === ms[0].multiplier && m.shift === ms[0].shift);
  const kept = same ? ms.slice(0, 1) : ms;
  return { output_multiplier: kept.map((m) => m.multiplier), output_shift: kept.map((m) => m.shift) };
}

/**
 * PopulateConvolutionQuantizationParams: effective scale double(s_in)·double(s_w[c]) / double(s_out) per channel.
 * Identical channels collapse to one entry (the schema's length-1 vector).
 */
function convolutionMultipliers(input: QParams, weightScales: readonly number[], output: QParams, rounding: Rounding) {
  return requantVectors(
    weightScales.map((ws) => multiplier((input.scale * ws) / output.scale, rounding, 'convolution')),
  );
}

/** The options the importer decides (window geometry), not quantization. */
type ConvGeometry = Pick<
  Conv2DOptions,
  'stride_h' | 'stride_w' | 'dilation_h' | 'dilation_w' | 'pad_top' | 'pad_left' | 'depth_multiplier'
>;

/** CONV_2D and DEPTHWISE_CONV_2D (per-channel or per-tensor weights, symmetric). */
export function prepareConv2D(
  geometry: ConvGeometry,
  input: QParams,
  weightScales: readonly number[],
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): Conv2DOptions {
  return {
    ...geometry,
    input_zero_point: input.zeroPoint,
    output_zero_point: output.zeroPoint,
    ...activationRange(output, clamp),
    ...convolutionMultipliers(input, weightScales, output, rounding),
  };
}

/**
 * FULLY_CONNECTED. Per-tensor weights use GetQuantizedConvolutionMultipler, whose product s_in·s_w is taken in
 * float32 before widening; per-channel weights use the convolution formula.
 */
export function prepareFullyConnected(
  input: QParams,
  weightScales: readonly number[],
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): FullyConnectedOptions {
  const requant =
    weightScales.length === 1
      ? requantVectors([multiplier(f32(input.scale * weightScales[0]) / output.scale, rounding, 'fully connected')])
      : convolutionMultipliers(input, weightScales, output, rounding);
  return { output_zero_point: output.zeroPoint, ...activationRange(output, clamp), ...requant };
}

/**
 * Folds the input zero point into an int32 bias: b'[c] = b[c] − zp_in·Σ w[c] over the whole filter (FULLY_CONNECTED's
 * input_offset·Σw with input_offset = −zp_in; convolutions then read zp_in at padded taps so the fold stays exact).
 * `channelAxis` is the weights' output-channel dimension (0 for conv/dense, 3 for depthwise).
 */
export function foldInputZeroPoint(
  weights: Int8Array,
  weightShape: readonly number[],
  channelAxis: number,
  bias: Int32Array | undefined,
  inputZeroPoint: number,
): Int32Array {
  const channels = weightShape[channelAxis];
  const inner = elementsPerChannel(weightShape, channelAxis);
  const sums = new Float64Array(channels);
  for (let i = 0; i < weights.length; i++) sums[Math.floor(i / inner) % channels] += weights[i];
  const folded = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const v = (bias ? bias[c] : 0) - inputZeroPoint * sums[c];
    if (v < -2147483648 || v > 2147483647)
      throw new ModelError(`bias of channel ${c} overflows int32 after folding the input zero point`);
    folded[c] = v;
  }
  return folded;
}

type PoolGeometry = Omit<Pool2DOptions, 'activation_min' | 'activation_max'>;

/** MAX_POOL_2D / AVERAGE_POOL_2D: input and output share parameters, only the fused clamp is computed. */
export function preparePool2D(geometry: PoolGeometry, output: QParams, clamp: Clamp | undefined): Pool2DOptions {
  return { ...geometry, ...activationRange(output, clamp) };
}

function prepareAddOrSub(
  kind: 'ADD' | 'SUB',
  leftShift: number,
  input1: QParams,
  input2: QParams,
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): ArithmeticOptions {
  // Both inputs go to a common scale of twice the larger input scale (the float32 max, then widened).
  const twiceMaxInputScale = 2 * Math.max(input1.scale, input2.scale);
  const smallerThanOne = (real: number, what: string) => {
    if (!(real > 0 && real < 1)) throw new ModelError(`${kind}: ${what} multiplier ${real} is outside (0, 1)`);
    return multiplier(real, rounding, kind);
  };
  const m1 = smallerThanOne(input1.scale / twiceMaxInputScale, 'input 1');
  const m2 = smallerThanOne(input2.scale / twiceMaxInputScale, 'input 2');
  const mo = smallerThanOne(twiceMaxInputScale / (Math.pow(2, leftShift) * output.scale), 'output');
  return {
    input1_offset: -input1.zeroPoint,
    input2_offset: -input2.zeroPoint,
    output_offset: output.zeroPoint,
    left_shift: leftShift,
    input1_multiplier: m1.multiplier,
    input1_shift: m1.shift,
    input2_multiplier: m2.multiplier,
    input2_shift: m2.shift,
    output_multiplier: mo.multiplier,
    output_shift: mo.shift,
    ...activationRange(output, clamp),
  };
}

/** ADD, int8 (add_common.cc): left_shift 20. */
export function prepareAdd(
  input1: QParams,
  input2: QParams,
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): ArithmeticOptions {
  return prepareAddOrSub('ADD', 20, input1, input2, output, clamp, rounding);
}

/** SUB, int8 (sub_common.cc sets its own left_shift: 20 for int8, 15 for int16). */
export function prepareSub(
  input1: QParams,
  input2: QParams,
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): ArithmeticOptions {
  return prepareAddOrSub('SUB', 20, input1, input2, output, clamp, rounding);
}

/** MUL, int8: one multiplier double(s1)·double(s2) / double(s_out). */
export function prepareMul(
  input1: QParams,
  input2: QParams,
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): MulOptions {
  const m = multiplier((input1.scale * input2.scale) / output.scale, rounding, 'MUL');
  return {
    input1_offset: -input1.zeroPoint,
    input2_offset: -input2.zeroPoint,
    output_offset: output.zeroPoint,
    output_multiplier: m.multiplier,
    output_shift: m.shift,
    ...activationRange(output, clamp),
  };
}

/** MEAN over axes 1, 2 (reduce_common.cc): multiplier s_in / s_out; the kernel divides by the count. */
export function prepareMean(input: QParams, output: QParams, rounding: Rounding): MeanOptions {
  const m = multiplier(input.scale / output.scale, rounding, 'MEAN');
  return {
    input_zero_point: input.zeroPoint,
    output_zero_point: output.zeroPoint,
    multiplier: m.multiplier,
    shift: m.shift,
  };
}

/**
 * REDUCE (device/README.md): MEAN as TFLite's int8 Mean on any axes and SUM with the multiplier s_in / s_out; MAX
 * keeps the input's parameters, as TFLite's REDUCE_MAX requires.
 */
export function prepareReduce(
  reducer: 'mean' | 'sum' | 'max',
  geometry: Pick<ReduceOptions, 'outer' | 'count' | 'inner'>,
  input: QParams,
  output: QParams,
  rounding: Rounding,
): ReduceOptions {
  const m =
    reducer === 'max' ? { multiplier: 0, shift: 0 } : multiplier(input.scale / output.scale, rounding, 'REDUCE');
  return {
    reducer: ['mean', 'sum', 'max'].indexOf(reducer),
    ...geometry,
    input_zero_point: input.zeroPoint,
    output_zero_point: output.zeroPoint,
    multiplier: m.multiplier,
    shift: m.shift,
  };
}

/** BATCH_MATMUL (batch_matmul.cc): one multiplier double(s1)·double(s2) / double(s_out), offsets −zp. */
export function prepareBatchMatMul(
  geometry: Pick<BatchMatMulOptions, 'batch' | 'rows' | 'depth' | 'cols' | 'lhs_batch_stride' | 'rhs_batch_stride'>,
  lhs: QParams,
  rhs: QParams,
  output: QParams,
  clamp: Clamp | undefined,
  rounding: Rounding,
): BatchMatMulOptions {
  const m = multiplier((lhs.scale * rhs.scale) / output.scale, rounding, 'BATCH_MATMUL');
  return {
    ...geometry,
    lhs_offset: -lhs.zeroPoint,
    rhs_offset: -rhs.zeroPoint,
    output_zero_point: output.zeroPoint,
    output_multiplier: m.multiplier,
    output_shift: m.shift,
    ...activationRange(output, clamp),
  };
}

/**
 * LAYER_NORM (device/README.md): the epsilon in the kernel's units, E = round(count³·ε / s_in²) (below 2^50), and
 * one multiplier s_γ·√count·2^−20 / s_out for the int32 t·γ + β.
 */
export function prepareLayerNorm(
  rows: number,
  count: number,
  epsilon: number,
  input: QParams,
  gammaScale: number,
  output: QParams,
  rounding: Rounding,
): LayerNormOptions {
  const e = Math.min(2 ** 50 - 1, Math.round((count ** 3 * epsilon) / (input.scale * input.scale)));
  const m = multiplier((gammaScale * Math.sqrt(count)) / 2 ** 20 / output.scale, rounding, 'LAYER_NORM');
  return {
    rows,
    count,
    epsilon_high: Math.floor(e / 2 ** 25),
    epsilon_low: e % 2 ** 25,
    input_zero_point: input.zeroPoint,
    output_zero_point: output.zeroPoint,
    output_multiplier: m.multiplier,
    output_shift: m.shift,
  };
}

/** The unchecked frexp split TFLM's LOGISTIC/TANH/SOFTMAX prepares use (the shift may exceed 30 there). */
function frexpMultiplier(real: number): QuantizedMultiplier {
  const { fraction, exponent } = frexp(real);
  const m = roundHalfAway(fraction * 2147483648);
  // TFLM casts 2^31 to int32 here (undefined behaviour); renormalise like QuantizeMultiplier instead.
  return m === 2147483648 ? { multiplier: m / 2, shift: exponent + 1 } : { multiplier: m, shift: exponent };
}

/** CalculateInputRadius: the largest |input| whose rescaled value fits the fixed-point format. */
function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number): number {
  return Math.floor(
    ((Math.pow(2, inputIntegerBits) - 1) * Math.pow(2, 31 - inputIntegerBits)) / Math.pow(2, inputLeftShift),
  );
}

function requireOutput(kind: string, output: QParams, scale: number, zeroPoint: number): void {
  if (output.zeroPoint !== zeroPoint || Math.abs(output.scale - scale) > scale * 1e-6) {
    throw new ModelError(
      `${kind} int8 output must have scale ${scale} and zero point ${zeroPoint}, got ${output.scale} and ${output.zeroPoint}`,
    );
  }
}

function checkedScale(kind: string, p: QParams): void {
  if (!(p.scale > 0) || !Number.isFinite(p.scale))
    throw new ModelError(`${kind}: input scale ${p.scale} must be a positive number`);
}

/**
 * SOFTMAX (softmax_common.cc + reference_ops::Softmax): the exp table holds, for d = max − x in 0..255,
 * exp_on_negative_values<5>(MultiplyByQuantizedMultiplierGreaterThanOne(−d)) in Q0.31, or 0 below diff_min.
 */
export function prepareSoftmax(input: QParams, beta: number, output: QParams, rounding: Rounding): SoftmaxOptions {
  checkedScale('SOFTMAX', input);
  requireOutput('SOFTMAX', output, 1 / 256, -128);
  const scaledDiffIntegerBits = 5;
  const maxRealMultiplier = rounding === 'single' ? Math.pow(2, 30) - 1 : Math.pow(2, 31) - 1;
  const real = Math.min(f32(beta) * input.scale * Math.pow(2, 31 - scaledDiffIntegerBits), maxRealMultiplier);
  const { multiplier: inputBetaMultiplier, shift: inputBetaLeftShift } = frexpMultiplier(real);
  if (inputBetaLeftShift < 0) throw new ModelError(`SOFTMAX: beta·input scale ${real} is too small to quantize`);
  const diffMin = -calculateInputRadius(scaledDiffIntegerBits, inputBetaLeftShift);
  const exp_table: number[] = [];
  for (let d = 0; d < 256; d++) {
    exp_table.push(
      -d >= diffMin
        ? expOnNegativeValues(
            multiplyByQuantizedMultiplier(-d, inputBetaMultiplier, inputBetaLeftShift, rounding),
            scaledDiffIntegerBits,
          )
        : 0,
    );
  }
  return { exp_table };
}

/**
 * LOG_SOFTMAX (TFLM log_softmax.cc CalculateOpData: PreprocessLogSoftmaxScalingExp with β = 1 and 5 integer bits,
 * diff_min from CalculateInputRadius). The kernel's two per-element products depend only on d = max − x, so they
 * are tabulated here: the Q5.26 difference and its exp rescaled to the Q12.19 accumulator.
 */
export function prepareLogSoftmax(input: QParams, output: QParams, rounding: Rounding): LogSoftmaxOptions {
  checkedScale('LOG_SOFTMAX', input);
  requireOutput('LOG_SOFTMAX', output, 16 / 256, 127);
  const scaledDiffIntegerBits = 5;
  const maxRealMultiplier = rounding === 'single' ? Math.pow(2, 30) - 1 : Math.pow(2, 31) - 1;
  const real = Math.min(input.scale * Math.pow(2, 31 - scaledDiffIntegerBits), maxRealMultiplier);
  const { multiplier: inputMultiplier, shift: inputLeftShift } = multiplier(real, rounding, 'LOG_SOFTMAX');
  if (inputLeftShift < 0) throw new ModelError(`LOG_SOFTMAX: input scale ${input.scale} is too small to quantize`);
  const reverse = multiplier(Math.pow(2, 31 - inputLeftShift) / inputMultiplier, rounding, 'LOG_SOFTMAX');
  const diffMin = -calculateInputRadius(scaledDiffIntegerBits, inputLeftShift);
  const diff_q5: number[] = [];
  const exp_q12: number[] = [];
  for (let d = 0; d < 256; d++) {
    const q5 = -d >= diffMin ? multiplyByQuantizedMultiplier(-d, inputMultiplier, inputLeftShift, rounding) : 0;
    diff_q5.push(q5);
    exp_q12.push(-d >= diffMin ? roundingDivideByPOT(expOnNegativeValues(q5, scaledDiffIntegerBits), 12) : 0);
  }
  return {
    diff_q5,
    exp_q12,
    reverse_scaling_divisor: reverse.multiplier,
    reverse_scaling_right_shift: -reverse.shift,
    diff_min: diffMin,
  };
}

/** The shared shape of TFLM's int8 LOGISTIC and TANH: Q4.27 input, radius saturation, gemmlowp function. */
function q4Table(
  input: QParams,
  rounding: Rounding,
  f: (q4: number) => number,
  below: number,
  above: number,
): number[] {
  const inputIntegerBits = 4;
  const { multiplier: m, shift } = frexpMultiplier(input.scale * Math.pow(2, 31 - inputIntegerBits));
  const radius = calculateInputRadius(inputIntegerBits, shift);
  const table: number[] = [];
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    const x = q - input.zeroPoint;
    table.push(x <= -radius ? below : x >= radius ? above : f(multiplyByQuantizedMultiplier(x, m, shift, rounding)));
  }
  return table;
}

/** LOGISTIC (reference_integer_ops::Logistic), tabulated over all 256 inputs. Output 1/256, zp −128. */
export function prepareLogistic(input: QParams, output: QParams, rounding: Rounding): LutOptions {
  checkedScale('LOGISTIC', input);
  requireOutput('LOGISTIC', output, 1 / 256, -128);
  const f = (q4: number) => clampInt(roundingDivideByPOT(logistic(q4, 4), 31 - 8) - 128, INT8_MIN, INT8_MAX);
  return { table: q4Table(input, rounding, f, INT8_MIN, INT8_MAX) };
}

/** TANH (reference_integer_ops::Tanh), tabulated over all 256 inputs. Output 1/128, zp 0. */
export function prepareTanh(input: QParams, output: QParams, rounding: Rounding): LutOptions {
  checkedScale('TANH', input);
  requireOutput('TANH', output, 1 / 128, 0);
  const f = (q4: number) => clampInt(roundingDivideByPOT(tanh(q4, 4), 31 - 7), INT8_MIN, INT8_MAX);
  return { table: q4Table(input, rounding, f, INT8_MIN, INT8_MAX) };
}

function requantizeTable(
  input: QParams,
  output: QParams,
  m: QuantizedMultiplier,
  rounding: Rounding,
  lo: number,
  hi: number,
): number[] {
  const table: number[] = [];
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    table.push(
      clampInt(
        multiplyByQuantizedMultiplier(q - input.zeroPoint, m.multiplier, m.shift, rounding) + output.zeroPoint,
        lo,
        hi,
      ),
    );
  }
  return table;
}

/** QUANTIZE int8 → int8 (quantize_common.cc + reference_ops::Requantize): multiplier double(s_in) / double(s_out). */
export function prepareQuantize(input: QParams, output: QParams, rounding: Rounding): LutOptions {
  return {
    table: requantizeTable(
      input,
      output,
      multiplier(input.scale / output.scale, rounding, 'QUANTIZE'),
      rounding,
      INT8_MIN,
      INT8_MAX,
    ),
  };
}

/**
 * RELU / RELU6 / RELU_N1_TO_1 and any clip (activations.cc ReluPrepare + ReluQuantized), as a QUANTIZE table:
 * multiplier f32(s_in / s_out), then the clamp's int8 bounds on the output.
 */
export function prepareRelu(input: QParams, output: QParams, clamp: Clamp, rounding: Rounding): LutOptions {
  const { activation_min, activation_max } = activationRange(output, clamp);
  const m = multiplier(f32(input.scale / output.scale), rounding, 'RELU');
  return { table: requantizeTable(input, output, m, rounding, activation_min, activation_max) };
}

/**
 * LEAKY_RELU (leaky_relu_common.cc + reference_ops::QuantizeLeakyRelu): identity multiplier f32(s_in / s_out) for
 * x ≥ zp_in, alpha multiplier f32(f32(s_in·alpha) / s_out) below, tabulated.
 */
export function prepareLeakyRelu(input: QParams, output: QParams, alpha: number, rounding: Rounding): LutOptions {
  const identity = multiplier(f32(input.scale / output.scale), rounding, 'LEAKY_RELU');
  const alphaReal = f32(f32(input.scale * f32(alpha)) / output.scale);
  // TFLite's QuantizeMultiplier is sign-symmetric: a negative alpha gets a negated significand.
  const a = multiplier(Math.abs(alphaReal), rounding, 'LEAKY_RELU');
  const alphaMultiplier = alphaReal < 0 ? -a.multiplier : a.multiplier;
  const table: number[] = [];
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    const x = q - input.zeroPoint;
    const v =
      x >= 0
        ? multiplyByQuantizedMultiplier(x, identity.multiplier, identity.shift, rounding)
        : multiplyByQuantizedMultiplier(x, alphaMultiplier, a.shift, rounding);
    table.push(clampInt(v + output.zeroPoint, INT8_MIN, INT8_MAX));
  }
  return { table };
}

/** PAD: constant padding with the output zero point (real 0) unless a quantized constant value is given. */
export function preparePad(paddings: readonly number[], output: QParams, constantValue?: number): PadOptions {
  if (paddings.some((p) => !Number.isInteger(p) || p < 0))
    throw new ModelError(`PAD: paddings must be non-negative integers, got [${paddings}]`);
  return { paddings: [...paddings], pad_value: constantValue ?? output.zeroPoint };
}

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** gemmlowp::SaturatingRoundingDoublingHighMul on int16 (C's truncating division of the nudged product). */
function roundingDoublingHighMul16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  const ab = a * b;
  return Math.trunc((ab + (ab >= 0 ? 16384 : 1 - 16384)) / 32768);
}

/** reference_ops::SaturatingDoublingHighMul: as above, truncating instead of rounding (ARM's SQDMULH). */
function doublingHighMul16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  return Math.trunc((a * b) / 32768);
}

const saturatingLeftShift16 = (v: number, amount: number): number =>
  clampInt(v * Math.pow(2, amount), INT16_MIN, INT16_MAX);

/** TFLite's DownScaleInt32ToInt16Multiplier: the int32 significand rounded to its high 16 bits. */
const downScaleMultiplier = (m: number): number =>
  m >= 2147483647 - 32768 ? INT16_MAX : Math.floor((m + 32768) / 65536);

/**
 * HARD_SWISH (hard_swish_common.cc HardSwishPrepare + reference_ops::HardSwish), tabulated: x·relu6(x + 3)/6 in
 * 16-bit fixed point, the input on a "hires" scale s_in/128, a "relu-ish" multiplier mapping [-3, 3] to int16, and
 * the output multiplier f32(s_in/128)/s_out, both downscaled to int16.
 */
export function prepareHardSwish(input: QParams, output: QParams, rounding: Rounding): LutOptions {
  const hiresInputScale = f32(f32(1 / 128) * input.scale);
  const out = multiplier(f32(hiresInputScale / output.scale), rounding, 'HARD_SWISH');
  if (out.shift > 0)
    throw new ModelError(
      `HARD_SWISH: output scale ${output.scale} is below input scale ${input.scale}/128 (TFLite requires it above)`,
    );
  const reluish = multiplier(f32(hiresInputScale / f32(3 / 32768)), rounding, 'HARD_SWISH');
  const outM16 = downScaleMultiplier(out.multiplier);
  const reluishM16 = downScaleMultiplier(reluish.multiplier);
  const table: number[] = [];
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    const hires = (q - input.zeroPoint) * 128;
    const preshiftOutput = roundingDoublingHighMul16(hires, outM16);
    let r = hires;
    if (reluish.shift > 0) r = saturatingLeftShift16(r, reluish.shift - 1);
    r = roundingDoublingHighMul16(r, reluishM16);
    if (reluish.shift > 0) r = saturatingLeftShift16(r, 1);
    if (reluish.shift < 0) r = roundingDivideByPOT(r, -reluish.shift);
    r = (r + 32768) >> 1;
    const y = roundingDivideByPOT(doublingHighMul16(r, preshiftOutput), -out.shift) + output.zeroPoint;
    table.push(clampInt(y, INT8_MIN, INT8_MAX));
  }
  return { table };
}

/**
 * Any element-wise function of one int8 tensor as a table (TFLite's PopulateLookupTable, used by its int8 ELU, EXP
 * and GELU): real input f32(s_in·(q − zp_in)), f in float32, times f32(1/s_out), rounded half away from zero, plus
 * zp_out, clamped to int8. A NaN (sqrt or log of a negative) becomes real 0.
 */
export function prepareLookupTable(input: QParams, output: QParams, f: (x: number) => number): LutOptions {
  const inverseScale = f32(1 / output.scale);
  const table: number[] = [];
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    const y = f32(f(f32(input.scale * (q - input.zeroPoint))));
    const rescaled = Number.isNaN(y) ? 0 : roundHalfAway(f32(y * inverseScale));
    table.push(clampInt(rescaled + output.zeroPoint, INT8_MIN, INT8_MAX));
  }
  return { table };
}

/**
 * The float32 transforms TFLite tabulates for its int8 ELU (activations.cc: exp(x) − 1 below 0), EXP and GELU
 * (gelu.cc: 0.5·x·erfc(−x/√2), or the tanh approximation), step by step in float32 as its C++ computes them.
 */
export const TFLITE_TABLE_FNS = {
  ELU: (v: number) => (v < 0 ? f32(f32(Math.exp(v)) - 1) : v),
  EXP: (v: number) => Math.exp(v),
  GELU: (v: number) => f32(f32(0.5 * v) * f32(1 + erf(f32(v * f32(Math.SQRT1_2))))),
  GELU_TANH: (v: number) => {
    const cube = f32(f32(f32(0.044715 * v) * v) * v);
    const t = f32(Math.tanh(f32(f32(Math.sqrt(2 / Math.PI)) * f32(v + cube))));
    return f32(f32(0.5 * v) * f32(1 + t));
  },
} as const;

/** PRELU (prelu.cc PreluPrepare): multipliers double(s_in)/double(s_out) and double(s_in)·double(s_alpha)/double(s_out). */
export function preparePrelu(input: QParams, alpha: QParams, output: QParams, rounding: Rounding): PreluOptions {
  const m1 = multiplier(input.scale / output.scale, rounding, 'PRELU');
  const m2 = multiplier((input.scale * alpha.scale) / output.scale, rounding, 'PRELU');
  return {
    input_offset: -input.zeroPoint,
    alpha_offset: -alpha.zeroPoint,
    output_offset: output.zeroPoint,
    output_multiplier_1: m1.multiplier,
    output_shift_1: m1.shift,
    output_multiplier_2: m2.multiplier,
    output_shift_2: m2.shift,
  };
}
