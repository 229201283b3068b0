// The host int8 reference: runs a QModel op by op with its own buffer per tensor (arena offsets are the
// device's business). Bit-exact oracle for every device engine.

import { ModelError } from '../../ir/graph';
import { QModel } from '../../ir/qmodel';
import { arithmetic } from './arithmetic';
import { conv2d } from './conv2d';
import { fullyConnected } from './fully-connected';
import { lookup } from './lut';
import { mean } from './mean';
import { pool2d } from './pool';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function runInt8(model: QModel, inputs: Int8Array[], observe?: (tensorIndex: number, data: Int8Array) => void): Int8Array[] {
  const values: (Int8Array | Int32Array | undefined)[] = model.tensors.map((t) => t.data);
  model.inputs.forEach((ti, k) => {
    const need = numel(model.tensors[ti].shape);
    if (!inputs[k] || inputs[k].length !== need) throw new ModelError(`input ${k} needs ${need} int8 values, got ${inputs[k]?.length ?? 'none'}`);
    values[ti] = inputs[k];
  });
  const i8 = (ti: number) => values[ti] as Int8Array;
  for (const op of model.ops) {
    const out = model.tensors[op.outputs[0]];
    const y = new Int8Array(numel(out.shape));
    const x = i8(op.inputs[0]);
    const xs = model.tensors[op.inputs[0]].shape;
    switch (op.opcode) {
      case 'FULLY_CONNECTED':
        fullyConnected(x, i8(op.inputs[1]), values[op.inputs[2]] as Int32Array, model.tensors[op.inputs[1]].shape[1], y, op.options, model.rounding);
        break;
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const ws = model.tensors[op.inputs[1]].shape;
        const shapes = { inH: xs[1], inW: xs[2], inC: xs[3], outH: out.shape[1], outW: out.shape[2], outC: out.shape[3], kH: ws[1], kW: ws[2] };
        conv2d(x, i8(op.inputs[1]), values[op.inputs[2]] as Int32Array, y, shapes, op.options, op.opcode === 'DEPTHWISE_CONV_2D', model.rounding);
        break;
      }
      case 'MAX_POOL_2D':
      case 'AVERAGE_POOL_2D':
        pool2d(x, y, xs[1], xs[2], xs[3], out.shape[1], out.shape[2], op.options, op.opcode === 'MAX_POOL_2D');
        break;
      case 'ADD':
      case 'SUB':
        arithmetic(x, i8(op.inputs[1]), y, op.options, op.opcode === 'SUB', model.rounding);
        break;
      case 'MEAN':
        mean(x, y, xs[1] * xs[2], xs[3], op.options, model.rounding);
        break;
      case 'RESHAPE':
        y.set(x);
        break;
      case 'LOGISTIC':
      case 'TANH':
      case 'QUANTIZE':
      case 'LEAKY_RELU':
        lookup(x, op.options.table, y);
        break;
      default:
        throw new ModelError(`the int8 reference does not implement ${op.opcode} yet`);
    }
    values[op.outputs[0]] = y;
    observe?.(op.outputs[0], y);
  }
  return model.outputs.map(i8);
}
