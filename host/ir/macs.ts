import type { QModel, QOp } from './qmodel';
import { numel } from './shape';

/** Multiply-accumulates one op performs per inference (0 for data movement and table lookups). */
export function macsOf(model: QModel, op: QOp): number {
  const out = model.tensors[op.outputs[0]];
  switch (op.opcode) {
    case 'FULLY_CONNECTED':
      return numel(out.shape) * model.tensors[op.inputs[1]].shape[1];
    case 'CONV_2D':
    case 'TRANSPOSE_CONV': {
      const [, kh, kw, ic] = model.tensors[op.inputs[1]].shape;
      return numel(out.shape) * kh * kw * ic;
    }
    case 'DEPTHWISE_CONV_2D': {
      const [, kh, kw] = model.tensors[op.inputs[1]].shape;
      return numel(out.shape) * kh * kw;
    }
    case 'MUL':
      return numel(out.shape);
    default:
      return 0;
  }
}

export const totalMacs = (model: QModel): number => model.ops.reduce((a, op) => a + macsOf(model, op), 0);
