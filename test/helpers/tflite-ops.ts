// Small models for checking Morsel's kernels opcode by opcode against full TFLite (test/helpers/tflite-oracle.ts).

import { Graph, newGraph, numel, Op } from '../../host/ir/graph';
import { QModel, QTensor } from '../../host/ir/qmodel';
import { kernelRounding, RoundingMode } from '../../host/quantize/fixedpoint';
import {
  prepareAdd,
  prepareLogistic,
  prepareMul,
  prepareRelu,
  prepareSub,
  prepareTanh,
  QParams,
} from '../../host/quantize/prepare';
import { Rng } from '../../host/util/rng';

const act = (name: string, shape: number[], q: QParams): QTensor => ({
  name,
  shape,
  type: 'int8',
  scale: [q.scale],
  zeroPoint: [q.zeroPoint],
  quantizedDimension: 0,
  arenaOffset: -1,
});

/**
 * A float NHWC graph whose quantized form has every opcode Morsel exports to TFLite but those full TFLite computes
 * differently (MEAN, LEAKY_RELU, a requantizing QUANTIZE; device/README.md): CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB,
 * MUL, both pools, CONCATENATION, PAD, RELU (a QUANTIZE table), FULLY_CONNECTED, TANH, LOGISTIC and SOFTMAX.
 */
export function allOpsGraph(): Graph {
  const rng = new Rng(5);
  const g = newGraph('all-ops', 'NHWC');
  const constant = (name: string, shape: number[], sd = 0.5) => {
    g.tensors.set(name, {
      name,
      dtype: 'float32',
      shape,
      data: Float32Array.from({ length: numel(shape) }, () => rng.normal() * sd),
    });
    return name;
  };
  const op = (name: string, o: Omit<Op, 'outputs'>, shape: number[]) => {
    g.tensors.set(name, { name, dtype: 'float32', shape });
    g.nodes.push({ name, op: { ...o, outputs: [name] } as Op });
    return name;
  };
  g.tensors.set('x', { name: 'x', dtype: 'float32', shape: [1, 8, 8, 3] });
  g.inputs.push('x');
  const same = {
    strides: [1, 1] as [number, number],
    dilations: [1, 1] as [number, number],
    pads: [1, 1, 1, 1] as [number, number, number, number],
  };
  const pool = {
    kernel: [2, 2] as [number, number],
    strides: [2, 2] as [number, number],
    pads: [0, 0, 0, 0] as [number, number, number, number],
  };
  const conv = op(
    'conv',
    {
      kind: 'conv2d',
      inputs: ['x', constant('conv_w', [8, 3, 3, 3]), constant('conv_b', [8])],
      attrs: { ...same, group: 1 },
    },
    [1, 8, 8, 8],
  );
  const dw = op(
    'dw',
    {
      kind: 'depthwise_conv2d',
      inputs: [conv, constant('dw_w', [1, 3, 3, 8]), constant('dw_b', [8])],
      attrs: { ...same, group: 8, multiplier: 1 },
    },
    [1, 8, 8, 8],
  );
  const add = op('add', { kind: 'add', inputs: [conv, dw], attrs: {} }, [1, 8, 8, 8]);
  const sub = op('sub', { kind: 'sub', inputs: [add, conv], attrs: {} }, [1, 8, 8, 8]);
  const mul = op('mul', { kind: 'mul', inputs: [sub, dw], attrs: {} }, [1, 8, 8, 8]);
  const maxPool = op('max_pool', { kind: 'max_pool', inputs: [mul], attrs: pool }, [1, 4, 4, 8]);
  const avgPool = op('avg_pool', { kind: 'avg_pool', inputs: [mul], attrs: pool }, [1, 4, 4, 8]);
  const concat = op('concat', { kind: 'concat', inputs: [maxPool, avgPool], attrs: { axis: 3 } }, [1, 4, 4, 16]);
  const pad = op(
    'pad',
    { kind: 'pad', inputs: [concat], attrs: { pads: [0, 1, 1, 0, 0, 1, 1, 0], value: 0 } },
    [1, 6, 6, 16],
  );
  const relu = op('relu', { kind: 'relu', inputs: [pad], attrs: {} }, [1, 6, 6, 16]);
  const flat = op('flatten', { kind: 'reshape', inputs: [relu], attrs: { shape: [1, 576] } }, [1, 576]);
  const fc = op(
    'fc',
    { kind: 'dense', inputs: [flat, constant('fc_w', [12, 576], 0.05), constant('fc_b', [12])], attrs: {} },
    [1, 12],
  );
  const tanh = op('tanh', { kind: 'tanh', inputs: [fc], attrs: {} }, [1, 12]);
  const fc2 = op(
    'fc2',
    { kind: 'dense', inputs: [tanh, constant('fc2_w', [12, 12], 2), constant('fc2_b', [12])], attrs: {} },
    [1, 12],
  );
  const sigmoid = op('sigmoid', { kind: 'sigmoid', inputs: [fc2], attrs: {} }, [1, 12]);
  const fc3 = op(
    'fc3',
    { kind: 'dense', inputs: [sigmoid, constant('fc3_w', [10, 12], 3), constant('fc3_b', [10])], attrs: {} },
    [1, 10],
  );
  g.outputs = [op('softmax', { kind: 'softmax', inputs: [fc3], attrs: { axis: -1, beta: 1 } }, [1, 10])];
  return g;
}

/** ADD, SUB or MUL of two [1, 256] inputs whose output scale puts many results on a rounding tie. */
export function binaryOpModel(opcode: 'ADD' | 'SUB' | 'MUL', mode: RoundingMode): QModel {
  const a = { scale: Math.fround(0.1), zeroPoint: 3 };
  const b = { scale: Math.fround(0.1), zeroPoint: -7 };
  const y = { scale: Math.fround(opcode === 'MUL' ? 0.02 : 0.2), zeroPoint: 1 };
  const prepare = opcode === 'ADD' ? prepareAdd : opcode === 'SUB' ? prepareSub : prepareMul;
  return {
    name: opcode,
    producer: 'test',
    rounding: mode,
    arenaBytes: 0,
    inputs: [0, 1],
    outputs: [2],
    tensors: [act('a', [1, 256], a), act('b', [1, 256], b), act('y', [1, 256], y)],
    ops: [
      {
        opcode,
        inputs: [0, 1],
        outputs: [2],
        name: opcode,
        options: prepare(a, b, y, undefined, kernelRounding(mode, opcode)),
      } as QModel['ops'][number],
    ],
  };
}

export type TableOp = 'LOGISTIC' | 'TANH' | 'RELU';

/**
 * A one-op table model over a [1, 256] input (feed it every int8 value) with random quantization; the input zero
 * point lies inside the range so that RELU clamps (a table that does not is exported as a requantizing QUANTIZE).
 */
export function tableOpModel(kind: TableOp, mode: RoundingMode, rng: Rng): QModel {
  const x = { scale: Math.fround(rng.uniform(0.005, 0.2)), zeroPoint: rng.int(-100, 100) };
  const y =
    kind === 'LOGISTIC'
      ? { scale: 1 / 256, zeroPoint: -128 }
      : kind === 'TANH'
        ? { scale: 1 / 128, zeroPoint: 0 }
        : { scale: Math.fround(x.scale * rng.uniform(0.3, 3)), zeroPoint: rng.int(-128, 127) };
  const rounding = kernelRounding(mode, kind);
  const options =
    kind === 'LOGISTIC'
      ? prepareLogistic(x, y, rounding)
      : kind === 'TANH'
        ? prepareTanh(x, y, rounding)
        : prepareRelu(x, y, { min: 0, max: Infinity }, rounding);
  return {
    name: kind,
    producer: 'test',
    rounding: mode,
    arenaBytes: 0,
    inputs: [0],
    outputs: [1],
    tensors: [act('x', [1, 256], x), act('y', [1, 256], y)],
    ops: [
      {
        opcode: kind === 'RELU' ? 'QUANTIZE' : kind,
        inputs: [0],
        outputs: [1],
        name: kind,
        options,
      } as QModel['ops'][number],
    ],
  };
}
