// Small hand-built QModels for format and planner tests (no quantizer involved).
import { bitsRange } from '../../host/blob/weights';
import type { QModel, QTensor, WeightBits } from '../../host/ir/qmodel';
import { numel } from '../../host/ir/shape';
import { planMemory } from '../../host/plan/planner';
import { Rng } from '../../host/util/rng';

export function act(name: string, shape: number[], scale = 0.05, zp = 0): QTensor {
  return { name, shape, type: 'int8', scale: [scale], zeroPoint: [zp], quantizedDimension: 0, arenaOffset: -1 };
}

/** x[1,8] → FC(4) → LOGISTIC → y[1,4] */
export function tinyFcModel(rng = new Rng(7)): QModel {
  const w = new Int8Array(32).map(() => rng.int(-127, 127));
  const b = new Int32Array(4).map(() => rng.int(-2000, 2000));
  const table = Array.from({ length: 256 }, (_, i) => Math.max(-128, Math.min(127, Math.round((i - 128) / 2))) + 0);
  return {
    name: 'tiny-fc',
    producer: 'test',
    rounding: 'double',
    arenaBytes: 0,
    tensors: [
      act('x', [1, 8], 0.1, 3),
      {
        name: 'w',
        shape: [4, 8],
        type: 'int8',
        scale: [0.01, 0.02, 0.03, 0.04],
        zeroPoint: [0, 0, 0, 0],
        quantizedDimension: 0,
        data: w,
        arenaOffset: -1,
      },
      {
        name: 'b',
        shape: [4],
        type: 'int32',
        scale: [0.001, 0.002, 0.003, 0.004],
        zeroPoint: [0, 0, 0, 0],
        quantizedDimension: 0,
        data: b,
        arenaOffset: -1,
      },
      act('h', [1, 4], 0.2, -5),
      act('y', [1, 4], 1 / 256, -128),
    ],
    ops: [
      {
        opcode: 'FULLY_CONNECTED',
        inputs: [0, 1, 2],
        outputs: [3],
        name: 'fc',
        options: {
          output_zero_point: -5,
          activation_min: -128,
          activation_max: 127,
          output_multiplier: [1500000000, 1400000000, 1300000000, 1200000000],
          output_shift: [-8, -9, -7, -10],
        },
      },
      { opcode: 'LOGISTIC', inputs: [3], outputs: [4], name: 'sigmoid', options: { table } },
    ],
    inputs: [0],
    outputs: [4],
  };
}

export function randomWeights(rng: Rng, n: number, bits: WeightBits, sparsity: number): Int8Array {
  const [lo, hi] = bitsRange(bits);
  return new Int8Array(n).map(() => (rng.next() < sparsity ? 0 : rng.int(lo, hi)));
}

/** Constant weights of `shape` (`bits` wide, a `sparsity` share of zeros) and a bias for its shape[0] outputs. */
function weightsAndBias(rng: Rng, shape: number[], bits: WeightBits, sparsity: number): QTensor[] {
  const outs = shape[0];
  return [
    {
      name: 'w',
      shape,
      type: 'int8',
      scale: [0.01],
      zeroPoint: [0],
      quantizedDimension: 0,
      data: randomWeights(rng, numel(shape), bits, sparsity),
      arenaOffset: -1,
      weightBits: bits,
    },
    {
      name: 'b',
      shape: [outs],
      type: 'int32',
      scale: [0.001],
      zeroPoint: [0],
      quantizedDimension: 0,
      data: new Int32Array(outs).map(() => rng.int(-5000, 5000)),
      arenaOffset: -1,
    },
  ];
}

/** x[batches,depth] → FC(outs) with long rows: multi-byte CSR columns, run-length escapes, all-zero mask bytes. */
export function wideFcModel(
  rng: Rng,
  depth: number,
  outs: number,
  bits: WeightBits,
  sparsity: number,
  batches = 1,
): QModel {
  const model: QModel = {
    name: 'wide-fc',
    producer: 'test',
    rounding: 'double',
    arenaBytes: 0,
    tensors: [
      act('x', [batches, depth], 0.1, 3),
      ...weightsAndBias(rng, [outs, depth], bits, sparsity),
      act('y', [batches, outs], 0.2, -5),
    ],
    ops: [
      {
        opcode: 'FULLY_CONNECTED',
        inputs: [0, 1, 2],
        outputs: [3],
        name: 'fc',
        options: {
          output_zero_point: -5,
          activation_min: -128,
          activation_max: 127,
          output_multiplier: [1500000000],
          output_shift: [-9],
        },
      },
    ],
    inputs: [0],
    outputs: [3],
  };
  planMemory(model);
  return model;
}

/**
 * x[1,3,7,16] → CONV_2D(outs) with a 1×kW window (stride sw, kW−1 … 0 columns of left padding): the pointwise and
 * one-row convolutions whose taps the device reads contiguously, and at the border through the padded walk.
 */
export function rowConvModel(rng: Rng, kW: number, sw: number, padLeft: number, bits: WeightBits, sparsity: number) {
  const [H, W, C, outs] = [3, 7, 16, 6];
  const outW = Math.floor((W + 2 * padLeft - kW) / sw) + 1;
  const model: QModel = {
    name: 'row-conv',
    producer: 'test',
    rounding: 'double',
    arenaBytes: 0,
    tensors: [
      act('x', [1, H, W, C], 0.1, 3),
      ...weightsAndBias(rng, [outs, 1, kW, C], bits, sparsity),
      act('y', [1, H, outW, outs], 0.2, -5),
    ],
    ops: [
      {
        opcode: 'CONV_2D',
        inputs: [0, 1, 2],
        outputs: [3],
        name: 'conv',
        options: {
          stride_h: 1,
          stride_w: sw,
          dilation_h: 1,
          dilation_w: 1,
          pad_top: 0,
          pad_left: padLeft,
          depth_multiplier: 1,
          input_zero_point: 3,
          output_zero_point: -5,
          activation_min: -128,
          activation_max: 127,
          output_multiplier: [1500000000],
          output_shift: [-7],
        },
      },
    ],
    inputs: [0],
    outputs: [3],
  };
  planMemory(model);
  return model;
}
