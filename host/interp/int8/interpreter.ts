// The host int8 reference: runs a QModel op by op with its own buffer per tensor (arena offsets are the
// device's business). Bit-exact oracle for every device engine.

import { ModelError } from '../../ir/graph';
import type { QModel, QOp, QTensor } from '../../ir/qmodel';
import { kernelRounding } from '../../quantize/fixedpoint';
import { arithmetic } from './arithmetic';
import { batchMatMul } from './batch-matmul';
import { broadcastIndex } from './broadcast';
import { concatenation } from './concatenation';
import { conv2d, type ConvShapes } from './conv2d';
import { depthwiseConv2d } from './depthwise-conv2d';
import { resizeBilinearInt8 } from './resize-bilinear';
import { transposeConv } from './transpose-conv';
import { fullyConnected } from './fully-connected';
import { gatherStrided } from './gather-strided';
import { layerNorm } from './layer-norm';
import { lookup } from './lut';
import { maximumMinimum } from './maximum-minimum';
import { mean } from './mean';
import { mul } from './mul';
import { mirrorPad } from './mirror-pad';
import { resizeNearest } from './resize-nearest';
import { pad } from './pad';
import { pool2d } from './pool';
import { prelu } from './prelu';
import { reduce } from './reduce';
import { reshape } from './reshape';
import { softmax } from './softmax';
import { logSoftmax } from './log-softmax';
import { numel } from '../../ir/shape';

// Broadcast index maps depend only on shapes; cache them per op so repeated inference does not rebuild them.
const broadcastCache = new WeakMap<QOp, [Int32Array, Int32Array]>();
function broadcastPair(model: QModel, op: QOp): [Int32Array, Int32Array] {
  let pair = broadcastCache.get(op);
  if (!pair) {
    const out = model.tensors[op.outputs[0]].shape;
    pair = [
      broadcastIndex(model.tensors[op.inputs[0]].shape, out),
      broadcastIndex(model.tensors[op.inputs[1]].shape, out),
    ];
    broadcastCache.set(op, pair);
  }
  return pair;
}

function convShapes(x: QTensor, w: QTensor, y: QTensor): ConvShapes {
  return {
    inH: x.shape[1],
    inW: x.shape[2],
    inC: x.shape[3],
    outH: y.shape[1],
    outW: y.shape[2],
    outC: y.shape[3],
    kH: w.shape[1],
    kW: w.shape[2],
  };
}

export function runInt8(
  model: QModel,
  inputs: Int8Array[],
  observe?: (tensorIndex: number, data: Int8Array) => void,
): Int8Array[] {
  const values: (Int8Array | Int32Array | undefined)[] = model.tensors.map((t) => t.data);
  model.inputs.forEach((ti, k) => {
    const need = numel(model.tensors[ti].shape);
    if (!inputs[k] || inputs[k].length !== need)
      throw new ModelError(`input ${k} needs ${need} int8 values, got ${inputs[k]?.length ?? 'none'}`);
    values[ti] = inputs[k];
  });
  const i8 = (ti: number) => {
    const v = values[ti];
    if (!(v instanceof Int8Array))
      throw new ModelError(`tensor ${ti} (${model.tensors[ti].name}) is read before it is computed`);
    return v;
  };
  const i32 = (ti: number) => values[ti] as Int32Array;
  for (const op of model.ops) {
    const rounding = kernelRounding(model.rounding, op.opcode);
    const out = model.tensors[op.outputs[0]];
    const y = new Int8Array(numel(out.shape));
    const x = i8(op.inputs[0]);
    const xt = model.tensors[op.inputs[0]];
    switch (op.opcode) {
      case 'FULLY_CONNECTED':
        fullyConnected(
          x,
          i8(op.inputs[1]),
          i32(op.inputs[2]),
          model.tensors[op.inputs[1]].shape[1],
          y,
          op.options,
          rounding,
        );
        break;
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const shapes = convShapes(xt, model.tensors[op.inputs[1]], out);
        const kernel = op.opcode === 'CONV_2D' ? conv2d : depthwiseConv2d;
        kernel(x, i8(op.inputs[1]), i32(op.inputs[2]), y, shapes, op.options, rounding);
        break;
      }
      case 'RESIZE_BILINEAR':
        resizeBilinearInt8(x, xt.shape, y, op.options.rows, op.options.cols, rounding);
        break;
      case 'TRANSPOSE_CONV':
        transposeConv(
          x,
          i8(op.inputs[1]),
          i32(op.inputs[2]),
          y,
          convShapes(xt, model.tensors[op.inputs[1]], out),
          op.options,
          rounding,
        );
        break;
      case 'MAX_POOL_2D':
      case 'AVERAGE_POOL_2D':
        pool2d(
          x,
          y,
          xt.shape[1],
          xt.shape[2],
          xt.shape[3],
          out.shape[1],
          out.shape[2],
          op.options,
          op.opcode === 'MAX_POOL_2D',
        );
        break;
      case 'ADD':
      case 'SUB': {
        const [ia, ib] = broadcastPair(model, op);
        arithmetic(x, ia, i8(op.inputs[1]), ib, y, op.options, op.opcode === 'SUB', rounding);
        break;
      }
      case 'MUL': {
        const [ia, ib] = broadcastPair(model, op);
        mul(x, ia, i8(op.inputs[1]), ib, y, op.options, rounding);
        break;
      }
      case 'PRELU': {
        const [ia, ib] = broadcastPair(model, op);
        prelu(x, ia, i8(op.inputs[1]), ib, y, op.options, rounding);
        break;
      }
      case 'MAXIMUM':
      case 'MINIMUM': {
        const [ia, ib] = broadcastPair(model, op);
        maximumMinimum(x, ia, i8(op.inputs[1]), ib, y, op.opcode === 'MAXIMUM');
        break;
      }
      case 'MEAN':
        mean(x, y, xt.shape[1] * xt.shape[2], xt.shape[3], op.options, rounding);
        break;
      case 'RESHAPE':
        reshape(x, y);
        break;
      case 'SOFTMAX':
        softmax(x, y, xt.shape[xt.shape.length - 1], op.options);
        break;
      case 'LOG_SOFTMAX':
        logSoftmax(x, y, xt.shape[xt.shape.length - 1], op.options, rounding);
        break;
      case 'CONCATENATION':
        concatenation(
          op.inputs.map(i8),
          op.inputs.map((ti) => model.tensors[ti].shape),
          op.options.axis,
          y,
        );
        break;
      case 'PAD':
        pad(x, xt.shape, y, out.shape, op.options);
        break;
      case 'RESIZE_NEAREST_NEIGHBOR':
        resizeNearest(x, xt.shape, y, op.options.rows, op.options.cols);
        break;
      case 'MIRROR_PAD':
        mirrorPad(
          x,
          xt.shape,
          y,
          out.shape,
          xt.shape.map((_, d) => op.options.paddings[2 * d]),
          op.options.mode,
        );
        break;
      case 'LOGISTIC':
      case 'TANH':
      case 'QUANTIZE':
      case 'LEAKY_RELU':
      case 'HARD_SWISH':
      case 'ELU':
      case 'EXP':
      case 'GELU':
      case 'LUT':
        lookup(x, op.options.table, y);
        break;
      case 'GATHER_STRIDED':
        gatherStrided(x, y, op.options);
        break;
      case 'REDUCE':
        reduce(x, y, op.options, rounding);
        break;
      case 'BATCH_MATMUL':
        batchMatMul(x, i8(op.inputs[1]), y, op.options, rounding);
        break;
      case 'LAYER_NORM':
        layerNorm(x, i8(op.inputs[1]), i32(op.inputs[2]), y, op.options, rounding);
        break;
      default: {
        const unknown: never = op;
        throw new ModelError(`the int8 reference does not implement opcode ${(unknown as QOp).opcode}`);
      }
    }
    values[op.outputs[0]] = y;
    observe?.(op.outputs[0], y);
  }
  return model.outputs.map(i8);
}
