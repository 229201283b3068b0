// The lowered, quantized model: exactly what a blob holds (schema/morsel.fbs), in memory.
// Produced by the quantizer (from a float Graph) or the TFLite importer (from an int8 .tflite);
// consumed by the memory planner, the blob encoder, `inspect`, and the host int8 reference interpreter.
// Opcodes and options objects (field for field, snake_case, as in the schema) are generated: ./contract.ts.

import type { RoundingMode } from '../quantize/fixedpoint';
import type { OpCodeName, OptionsByOp } from './contract';
import { numel } from './shape';

export * from './contract';

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

export const bytesOf = (t: QTensor): number => numel(t.shape) * (t.type === 'int32' ? 4 : 1);
