// Random valid QModels over the ops the device runtime implements: random shapes, strides, dilations, pads,
// depth multipliers, zero points, activation bounds, and multipliers/shifts over most of their range.

import { Conv2DOptions, QModel, QOp, QTensor } from '../../host/ir/qmodel';
import { planMemory } from '../../host/plan/planner';
import { Rng } from '../../host/util/rng';

const act = (name: string, shape: number[], rng: Rng): QTensor => ({
  name, shape, type: 'int8', scale: [rng.uniform(0.001, 0.2)], zeroPoint: [rng.int(-128, 127)], quantizedDimension: 0, arenaOffset: -1,
});
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function requant(rng: Rng, channels: number) {
  const n = rng.next() < 0.5 ? 1 : channels;
  return {
    output_multiplier: Array.from({ length: n }, () => rng.int(1073741824, 2147483647)),
    output_shift: Array.from({ length: n }, () => (rng.next() < 0.1 ? rng.int(-31, 2) : rng.int(-12, -4))),
  };
}
function bounds(rng: Rng): { activation_min: number; activation_max: number } {
  if (rng.next() < 0.6) return { activation_min: -128, activation_max: 127 };
  const lo = rng.int(-128, 20);
  return { activation_min: lo, activation_max: rng.int(lo, 127) };
}

export function randomQModel(rng: Rng): { model: QModel; inputs: Int8Array[] } {
  const tensors: QTensor[] = [];
  const ops: QOp[] = [];
  const push = (t: QTensor) => (tensors.push(t), tensors.length - 1);
  let cur = push(act('input', [1, rng.int(1, 9), rng.int(1, 9), rng.int(1, 5)], rng));
  const nOps = rng.int(1, 4);
  for (let k = 0; k < nOps; k++) {
    const s = tensors[cur].shape;
    const kind = s.length === 2 ? rng.pick(['FULLY_CONNECTED', 'LUT', 'ADD'] as const) : rng.pick(['CONV_2D', 'DEPTHWISE_CONV_2D', 'POOL', 'LUT', 'FLATTEN', 'ADD'] as const);
    const zpIn = tensors[cur].zeroPoint[0];
    if (kind === 'FULLY_CONNECTED' || kind === 'FLATTEN') {
      let x = cur;
      if (kind === 'FLATTEN') {
        x = push({ ...act(`flat${k}`, [1, numel(s)], rng), scale: tensors[cur].scale, zeroPoint: tensors[cur].zeroPoint });
        ops.push({ opcode: 'RESHAPE', inputs: [cur], outputs: [x], name: `reshape${k}`, options: null });
      }
      const depth = tensors[x].shape[1];
      const outs = rng.int(1, 12);
      const w = push({ name: `w${k}`, shape: [outs, depth], type: 'int8', scale: [0.01], zeroPoint: [0], quantizedDimension: 0, data: new Int8Array(outs * depth).map(() => rng.int(-127, 127)), arenaOffset: -1 });
      const b = push({ name: `b${k}`, shape: [outs], type: 'int32', scale: [0.001], zeroPoint: [0], quantizedDimension: 0, data: new Int32Array(outs).map(() => rng.int(-50000, 50000)), arenaOffset: -1 });
      const y = push(act(`fc${k}`, [1, outs], rng));
      ops.push({ opcode: 'FULLY_CONNECTED', inputs: [x, w, b], outputs: [y], name: `fc${k}`, options: { output_zero_point: tensors[y].zeroPoint[0], ...bounds(rng), ...requant(rng, outs) } });
      cur = y;
    } else if (kind === 'CONV_2D' || kind === 'DEPTHWISE_CONV_2D') {
      const [, H, W, C] = s;
      const dw = kind === 'DEPTHWISE_CONV_2D';
      const m = dw ? rng.int(1, 2) : 1;
      const kH = rng.int(1, 3), kW = rng.int(1, 3), sh = rng.int(1, 2), sw = rng.int(1, 2), dh = rng.int(1, 2), dwl = rng.int(1, 2);
      const pt = rng.int(0, kH - 1), pl = rng.int(0, kW - 1);
      const outH = Math.floor((H + 2 * pt - ((kH - 1) * dh + 1)) / sh) + 1;
      const outW = Math.floor((W + 2 * pl - ((kW - 1) * dwl + 1)) / sw) + 1;
      if (outH < 1 || outW < 1) continue;
      const outC = dw ? C * m : rng.int(1, 6);
      const wShape = dw ? [1, kH, kW, outC] : [outC, kH, kW, C];
      const w = push({ name: `w${k}`, shape: wShape, type: 'int8', scale: [0.01], zeroPoint: [0], quantizedDimension: 0, data: new Int8Array(numel(wShape)).map(() => rng.int(-127, 127)), arenaOffset: -1 });
      const b = push({ name: `b${k}`, shape: [outC], type: 'int32', scale: [0.001], zeroPoint: [0], quantizedDimension: 0, data: new Int32Array(outC).map(() => rng.int(-50000, 50000)), arenaOffset: -1 });
      const y = push(act(`conv${k}`, [1, outH, outW, outC], rng));
      const options: Conv2DOptions = {
        stride_h: sh, stride_w: sw, dilation_h: dh, dilation_w: dwl, pad_top: pt, pad_left: pl, depth_multiplier: m,
        input_zero_point: zpIn, output_zero_point: tensors[y].zeroPoint[0], ...bounds(rng), ...requant(rng, outC),
      };
      ops.push({ opcode: kind, inputs: [cur, w, b], outputs: [y], name: `conv${k}`, options });
      cur = y;
    } else if (kind === 'ADD') {
      const y = push(act(`add${k}`, s, rng));
      const mult = () => rng.int(1073741824, 2147483647);
      ops.push({
        opcode: rng.next() < 0.5 ? 'ADD' : 'SUB', inputs: [cur, cur], outputs: [y], name: `add${k}`,
        options: {
          input1_offset: rng.int(-127, 128), input2_offset: rng.int(-127, 128), output_offset: tensors[y].zeroPoint[0], left_shift: 20,
          input1_multiplier: mult(), input1_shift: rng.int(-3, 0), input2_multiplier: mult(), input2_shift: rng.int(-3, 0),
          output_multiplier: mult(), output_shift: rng.int(-24, -16), ...bounds(rng),
        },
      });
      cur = y;
    } else if (kind === 'POOL') {
      const [, H, W, C] = s;
      const fh = rng.int(1, Math.min(3, H)), fw = rng.int(1, Math.min(3, W)), sh = rng.int(1, 2), sw = rng.int(1, 2);
      const pt = rng.int(0, fh - 1), pl = rng.int(0, fw - 1);
      const outH = Math.floor((H + pt - fh) / sh) + 1, outW = Math.floor((W + pl - fw) / sw) + 1;
      const y = push({ ...act(`pool${k}`, [1, outH, outW, C], rng), scale: tensors[cur].scale, zeroPoint: tensors[cur].zeroPoint });
      ops.push({ opcode: rng.next() < 0.5 ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', inputs: [cur], outputs: [y], name: `pool${k}`, options: { filter_h: fh, filter_w: fw, stride_h: sh, stride_w: sw, pad_top: pt, pad_left: pl, ...bounds(rng) } });
      cur = y;
    } else {
      const y = push(act(`lut${k}`, s, rng));
      ops.push({ opcode: rng.pick(['LOGISTIC', 'TANH', 'QUANTIZE', 'LEAKY_RELU'] as const), inputs: [cur], outputs: [y], name: `lut${k}`, options: { table: Array.from({ length: 256 }, () => rng.int(-128, 127)) } });
      cur = y;
    }
  }
  if (ops.length === 0) return randomQModel(rng);
  const model: QModel = { name: 'random', producer: 'test', rounding: rng.next() < 0.5 ? 'double' : 'single', tensors, ops, inputs: [0], outputs: [cur], arenaBytes: 0 };
  planMemory(model);
  const inputs = [0, 1, 2].map(() => new Int8Array(numel(tensors[0].shape)).map(() => rng.int(-128, 127)));
  return { model, inputs };
}
