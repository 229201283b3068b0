// The lowered, quantized model: exactly what a blob holds (schema/morsel.fbs), in memory.
// Produced by the quantizer (from a float Graph) or the TFLite importer (from an int8 .tflite);
// consumed by the memory planner, the blob encoder, `inspect`, and the host int8 reference interpreter.
// Options objects mirror the schema's option tables field for field (snake_case, as in the schema).

import type { RoundingMode } from '../quantize/fixedpoint';

export const OpCode = {
  FULLY_CONNECTED: 0,
  CONV_2D: 1,
  DEPTHWISE_CONV_2D: 2,
  MAX_POOL_2D: 3,
  AVERAGE_POOL_2D: 4,
  ADD: 5,
  SUB: 6,
  MUL: 7,
  RESHAPE: 8,
  SOFTMAX: 9,
  LOGISTIC: 10,
  TANH: 11,
  CONCATENATION: 12,
  PAD: 13,
  MEAN: 14,
  QUANTIZE: 15,
  LEAKY_RELU: 16,
} as const;
export type OpCodeName = keyof typeof OpCode;
export type OpCodeValue = (typeof OpCode)[OpCodeName];
export const opCodeName = (code: number): OpCodeName =>
  (Object.keys(OpCode) as OpCodeName[]).find((k) => OpCode[k] === code) ?? (`UNKNOWN_${code}` as OpCodeName);

export interface FullyConnectedOptions {
  output_zero_point: number;
  activation_min: number;
  activation_max: number;
  output_multiplier: number[];
  output_shift: number[];
}
export interface Conv2DOptions {
  stride_h: number;
  stride_w: number;
  dilation_h: number;
  dilation_w: number;
  pad_top: number;
  pad_left: number;
  depth_multiplier: number;
  input_zero_point: number;
  output_zero_point: number;
  activation_min: number;
  activation_max: number;
  output_multiplier: number[];
  output_shift: number[];
}
export interface Pool2DOptions {
  filter_h: number;
  filter_w: number;
  stride_h: number;
  stride_w: number;
  pad_top: number;
  pad_left: number;
  activation_min: number;
  activation_max: number;
}
export interface ArithmeticOptions {
  input1_offset: number;
  input2_offset: number;
  output_offset: number;
  left_shift: number;
  input1_multiplier: number;
  input1_shift: number;
  input2_multiplier: number;
  input2_shift: number;
  output_multiplier: number;
  output_shift: number;
  activation_min: number;
  activation_max: number;
}
export interface MulOptions {
  input1_offset: number;
  input2_offset: number;
  output_offset: number;
  output_multiplier: number;
  output_shift: number;
  activation_min: number;
  activation_max: number;
}
export interface SoftmaxOptions {
  exp_table: number[];
}
export interface LutOptions {
  table: number[];
}
export interface ConcatenationOptions {
  axis: number;
}
export interface PadOptions {
  paddings: number[];
  pad_value: number;
}
export interface MeanOptions {
  input_zero_point: number;
  output_zero_point: number;
  multiplier: number;
  shift: number;
}

/** Which options table each opcode carries (union member name in the schema). */
export interface OptionsByOp {
  FULLY_CONNECTED: FullyConnectedOptions;
  CONV_2D: Conv2DOptions;
  DEPTHWISE_CONV_2D: Conv2DOptions;
  MAX_POOL_2D: Pool2DOptions;
  AVERAGE_POOL_2D: Pool2DOptions;
  ADD: ArithmeticOptions;
  SUB: ArithmeticOptions;
  MUL: MulOptions;
  RESHAPE: null;
  SOFTMAX: SoftmaxOptions;
  LOGISTIC: LutOptions;
  TANH: LutOptions;
  CONCATENATION: ConcatenationOptions;
  PAD: PadOptions;
  MEAN: MeanOptions;
  QUANTIZE: LutOptions;
  LEAKY_RELU: LutOptions;
}
export const OPTIONS_TABLE: { [K in OpCodeName]: string | null } = {
  FULLY_CONNECTED: 'FullyConnectedOptions',
  CONV_2D: 'Conv2DOptions',
  DEPTHWISE_CONV_2D: 'Conv2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  AVERAGE_POOL_2D: 'Pool2DOptions',
  ADD: 'ArithmeticOptions',
  SUB: 'ArithmeticOptions',
  MUL: 'MulOptions',
  RESHAPE: null,
  SOFTMAX: 'SoftmaxOptions',
  LOGISTIC: 'LutOptions',
  TANH: 'LutOptions',
  CONCATENATION: 'ConcatenationOptions',
  PAD: 'PadOptions',
  MEAN: 'MeanOptions',
  QUANTIZE: 'LutOptions',
  LEAKY_RELU: 'LutOptions',
};

export type QOp = {
  [K in OpCodeName]: { opcode: K; inputs: number[]; outputs: number[]; options: OptionsByOp[K]; name: string };
}[OpCodeName];

export interface QTensor {
  name: string;
  shape: number[];
  type: 'int8' | 'int32';
  /** float32 values; one per tensor or one per channel along quantizedDimension. */
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
  /** Constant data (weights, folded biases); activations have none. Always the values, whatever the storage. */
  data?: Int8Array | Int32Array;
  /**
   * int8 constants: the bits their values fit in (8 when absent; 4: −8..7, 2: −2..1, though the quantizer's
   * symmetric grid uses −7..7 and −1..1). The blob packs FULLY_CONNECTED / CONV_2D weights at this width.
   */
  weightBits?: WeightBits;
  /** Byte offset in the arena, assigned by the planner; -1 for constants. */
  arenaOffset: number;
}

export type WeightBits = 8 | 4 | 2;

export interface QModel {
  name: string;
  producer: string;
  rounding: RoundingMode;
  tensors: QTensor[];
  ops: QOp[];
  inputs: number[];
  outputs: number[];
  /** Set by the planner. */
  arenaBytes: number;
}

export const bytesOf = (t: QTensor): number => t.shape.reduce((a, b) => a * b, 1) * (t.type === 'int32' ? 4 : 1);
