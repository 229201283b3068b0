// Random valid QModels over the ops the device runtime implements: random shapes, strides, dilations, pads,
// depth multipliers, zero points, activation bounds, and multipliers/shifts over most of their range; binary ops
// broadcast against constants of random compatible shapes (either operand may repeat), softmax tables come from
// the quantizer's Prepare with random input scales and betas.

import { prepareRounding, type RoundingMode } from '../../host/quantize/fixedpoint';
import { prepareSoftmax } from '../../host/quantize/prepare';
import type { Conv2DOptions, QModel, QOp, QTensor } from '../../host/ir/qmodel';
import { planMemory } from '../../host/plan/planner';
import type { Rng } from '../../host/util/rng';
import { numel } from '../../host/ir/shape';

const act = (name: string, shape: number[], rng: Rng): QTensor => ({
  name,
  shape,
  type: 'int8',
  scale: [rng.uniform(0.001, 0.2)],
  zeroPoint: [rng.int(-128, 127)],
  quantizedDimension: 0,
  arenaOffset: -1,
});

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

/**
 * A shape that broadcasts against `s` (right-aligned, maybe of lower rank), and the broadcast output: each
 * dimension is s's, 1, or, where s has 1 (never the batch), 2..3 so that `s` repeats too.
 */
function broadcastPartner(s: number[], rng: Rng): { other: number[]; out: number[] } {
  const out = [...s];
  const other = s.map((n, d) => {
    if (n === 1 && d > 0 && rng.next() < 0.4) return (out[d] = rng.int(2, 3));
    return rng.next() < 0.5 ? 1 : n;
  });
  while (other.length > 1 && other[0] === 1 && rng.next() < 0.6) other.shift();
  return { other, out };
}

export function randomQModel(rng: Rng): { model: QModel; inputs: Int8Array[] } {
  const tensors: QTensor[] = [];
  const ops: QOp[] = [];
  const push = (t: QTensor) => (tensors.push(t), tensors.length - 1);
  /** A constant int8 operand with random values, quantized like `like` when given. */
  const constant = (name: string, shape: number[], like?: QTensor) => {
    const t = act(name, shape, rng);
    return push({
      ...t,
      ...(like && { scale: like.scale, zeroPoint: like.zeroPoint }),
      data: new Int8Array(numel(shape)).map(() => rng.int(-128, 127)),
    });
  };
  const rounding = rng.pick<RoundingMode>(['double', 'single', 'tflite']);
  let cur = push(act('input', [1, rng.int(1, 9), rng.int(1, 9), rng.int(1, 5)], rng));
  const nOps = rng.int(1, 4);
  for (let k = 0; k < nOps; k++) {
    const s = tensors[cur].shape;
    const kind =
      s.length === 2
        ? rng.pick(['FULLY_CONNECTED', 'LUT', 'ADD', 'MUL', 'SOFTMAX', 'CONCATENATION', 'PAD'] as const)
        : rng.pick([
            'CONV_2D',
            'DEPTHWISE_CONV_2D',
            'POOL',
            'LUT',
            'FLATTEN',
            'ADD',
            'MUL',
            'SOFTMAX',
            'CONCATENATION',
            'PAD',
          ] as const);
    const zpIn = tensors[cur].zeroPoint[0];
    if (kind === 'FULLY_CONNECTED' || kind === 'FLATTEN') {
      let x = cur;
      if (kind === 'FLATTEN') {
        x = push({
          ...act(`flat${k}`, [1, numel(s)], rng),
          scale: tensors[cur].scale,
          zeroPoint: tensors[cur].zeroPoint,
        });
        ops.push({ opcode: 'RESHAPE', inputs: [cur], outputs: [x], name: `reshape${k}`, options: null });
      }
      const depth = tensors[x].shape[1];
      const outs = rng.int(1, 12);
      const w = push({
        name: `w${k}`,
        shape: [outs, depth],
        type: 'int8',
        scale: [0.01],
        zeroPoint: [0],
        quantizedDimension: 0,
        data: new Int8Array(outs * depth).map(() => rng.int(-127, 127)),
        arenaOffset: -1,
      });
      const b = push({
        name: `b${k}`,
        shape: [outs],
        type: 'int32',
        scale: [0.001],
        zeroPoint: [0],
        quantizedDimension: 0,
        data: new Int32Array(outs).map(() => rng.int(-50000, 50000)),
        arenaOffset: -1,
      });
      const y = push(act(`fc${k}`, [numel(tensors[x].shape) / depth, outs], rng));
      ops.push({
        opcode: 'FULLY_CONNECTED',
        inputs: [x, w, b],
        outputs: [y],
        name: `fc${k}`,
        options: { output_zero_point: tensors[y].zeroPoint[0], ...bounds(rng), ...requant(rng, outs) },
      });
      cur = y;
    } else if (kind === 'CONV_2D' || kind === 'DEPTHWISE_CONV_2D') {
      const [, H, W, C] = s;
      const dw = kind === 'DEPTHWISE_CONV_2D';
      const m = dw ? rng.int(1, 2) : 1;
      const kH = rng.int(1, 3),
        kW = rng.int(1, 3),
        sh = rng.int(1, 2),
        sw = rng.int(1, 2),
        dh = rng.int(1, 2),
        dwl = rng.int(1, 2);
      const pt = rng.int(0, kH - 1),
        pl = rng.int(0, kW - 1);
      const outH = Math.floor((H + 2 * pt - ((kH - 1) * dh + 1)) / sh) + 1;
      const outW = Math.floor((W + 2 * pl - ((kW - 1) * dwl + 1)) / sw) + 1;
      if (outH < 1 || outW < 1) continue;
      const outC = dw ? C * m : rng.int(1, 6);
      const wShape = dw ? [1, kH, kW, outC] : [outC, kH, kW, C];
      const w = push({
        name: `w${k}`,
        shape: wShape,
        type: 'int8',
        scale: [0.01],
        zeroPoint: [0],
        quantizedDimension: 0,
        data: new Int8Array(numel(wShape)).map(() => rng.int(-127, 127)),
        arenaOffset: -1,
      });
      const b = push({
        name: `b${k}`,
        shape: [outC],
        type: 'int32',
        scale: [0.001],
        zeroPoint: [0],
        quantizedDimension: 0,
        data: new Int32Array(outC).map(() => rng.int(-50000, 50000)),
        arenaOffset: -1,
      });
      const y = push(act(`conv${k}`, [1, outH, outW, outC], rng));
      const options: Conv2DOptions = {
        stride_h: sh,
        stride_w: sw,
        dilation_h: dh,
        dilation_w: dwl,
        pad_top: pt,
        pad_left: pl,
        depth_multiplier: m,
        input_zero_point: zpIn,
        output_zero_point: tensors[y].zeroPoint[0],
        ...bounds(rng),
        ...requant(rng, outC),
      };
      ops.push({ opcode: kind, inputs: [cur, w, b], outputs: [y], name: `conv${k}`, options });
      cur = y;
    } else if (kind === 'ADD' || kind === 'MUL') {
      // Same operand twice (same shapes), or broadcast against a constant on either side.
      let inputs = [cur, cur];
      let out = s;
      if (rng.next() < 0.7) {
        const b = broadcastPartner(s, rng);
        const c = constant(`operand${k}`, b.other);
        inputs = rng.next() < 0.5 ? [cur, c] : [c, cur];
        out = b.out;
      }
      const y = push(act(`${kind.toLowerCase()}${k}`, out, rng));
      const mult = () => rng.int(1073741824, 2147483647);
      if (kind === 'MUL') {
        ops.push({
          opcode: 'MUL',
          inputs,
          outputs: [y],
          name: `mul${k}`,
          options: {
            input1_offset: -tensors[inputs[0]].zeroPoint[0],
            input2_offset: -tensors[inputs[1]].zeroPoint[0],
            output_offset: tensors[y].zeroPoint[0],
            output_multiplier: mult(),
            output_shift: rng.next() < 0.15 ? rng.int(-31, 3) : rng.int(-16, -7),
            ...bounds(rng),
          },
        });
        cur = y;
        continue;
      }
      ops.push({
        opcode: rng.next() < 0.5 ? 'ADD' : 'SUB',
        inputs,
        outputs: [y],
        name: `add${k}`,
        options: {
          input1_offset: rng.int(-127, 128),
          input2_offset: rng.int(-127, 128),
          output_offset: tensors[y].zeroPoint[0],
          left_shift: 20,
          input1_multiplier: mult(),
          input1_shift: rng.int(-3, 0),
          input2_multiplier: mult(),
          input2_shift: rng.int(-3, 0),
          output_multiplier: mult(),
          output_shift: rng.int(-24, -16),
          ...bounds(rng),
        },
      });
      cur = y;
    } else if (kind === 'POOL') {
      const [, H, W, C] = s;
      const fh = rng.int(1, Math.min(3, H)),
        fw = rng.int(1, Math.min(3, W)),
        sh = rng.int(1, 2),
        sw = rng.int(1, 2);
      const pt = rng.int(0, fh - 1),
        pl = rng.int(0, fw - 1);
      const outH = Math.floor((H + pt - fh) / sh) + 1,
        outW = Math.floor((W + pl - fw) / sw) + 1;
      const y = push({
        ...act(`pool${k}`, [1, outH, outW, C], rng),
        scale: tensors[cur].scale,
        zeroPoint: tensors[cur].zeroPoint,
      });
      ops.push({
        opcode: rng.next() < 0.5 ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
        inputs: [cur],
        outputs: [y],
        name: `pool${k}`,
        options: { filter_h: fh, filter_w: fw, stride_h: sh, stride_w: sw, pad_top: pt, pad_left: pl, ...bounds(rng) },
      });
      cur = y;
    } else if (kind === 'SOFTMAX') {
      const y = push({ ...act(`softmax${k}`, s, rng), scale: [1 / 256], zeroPoint: [-128] });
      const input = { scale: tensors[cur].scale[0], zeroPoint: zpIn };
      // Mostly the quantizer's own table; sometimes arbitrary Q0.31 values, so no property of real tables is assumed.
      const exp_table =
        rng.next() < 0.8
          ? prepareSoftmax(input, rng.uniform(0.3, 3), { scale: 1 / 256, zeroPoint: -128 }, prepareRounding(rounding))
              .exp_table
          : Array.from({ length: 256 }, () => rng.int(0, 2147483647));
      ops.push({ opcode: 'SOFTMAX', inputs: [cur], outputs: [y], name: `softmax${k}`, options: { exp_table } });
      cur = y;
    } else if (kind === 'CONCATENATION') {
      // Along any axis but the batch of a 4-D tensor (the convolutions after it need batch 1).
      const axis = rng.int(s.length === 4 ? 1 : 0, s.length - 1);
      const inputs = Array.from({ length: rng.int(2, 3) }, (_, i) => {
        if (i === 0 || rng.next() < 0.4) return cur;
        const shape = [...s];
        shape[axis] = rng.int(1, 3);
        return constant(`part${k}_${i}`, shape, tensors[cur]);
      });
      if (rng.next() < 0.5) inputs.reverse();
      const shape = [...s];
      shape[axis] = inputs.reduce((sum, t) => sum + tensors[t].shape[axis], 0);
      const y = push({
        ...act(`concat${k}`, shape, rng),
        scale: tensors[cur].scale,
        zeroPoint: tensors[cur].zeroPoint,
      });
      ops.push({ opcode: 'CONCATENATION', inputs, outputs: [y], name: `concat${k}`, options: { axis } });
      cur = y;
    } else if (kind === 'PAD') {
      const paddings = s.flatMap((_, d) => (d === 0 ? [0, 0] : [rng.int(0, 2), rng.int(0, 2)]));
      const shape = s.map((n, d) => n + paddings[2 * d] + paddings[2 * d + 1]);
      const y = push({ ...act(`pad${k}`, shape, rng), scale: tensors[cur].scale, zeroPoint: tensors[cur].zeroPoint });
      ops.push({
        opcode: 'PAD',
        inputs: [cur],
        outputs: [y],
        name: `pad${k}`,
        options: { paddings, pad_value: rng.next() < 0.7 ? zpIn : rng.int(-128, 127) },
      });
      cur = y;
    } else {
      const y = push(act(`lut${k}`, s, rng));
      ops.push({
        opcode: rng.pick(['LOGISTIC', 'TANH', 'QUANTIZE', 'LEAKY_RELU'] as const),
        inputs: [cur],
        outputs: [y],
        name: `lut${k}`,
        options: { table: Array.from({ length: 256 }, () => rng.int(-128, 127)) },
      });
      cur = y;
    }
  }
  if (ops.length === 0) return randomQModel(rng);
  const model: QModel = {
    name: 'random',
    producer: 'test',
    rounding,
    tensors,
    ops,
    inputs: [0],
    outputs: [cur],
    arenaBytes: 0,
  };
  planMemory(model);
  const inputs = [0, 1, 2].map(() => new Int8Array(numel(tensors[0].shape)).map(() => rng.int(-128, 127)));
  return { model, inputs };
}

/**
 * One FULLY_CONNECTED or 1×1 CONV_2D whose requantization sits where the device's fast path ends: per channel,
 * acc·M straddles 2^51 across the inputs (the bias puts it there, the inputs move it either side), or lies beyond
 * it (2^52.5, 2^54: the fallback's ground), or the multiplier is 2^30 with a small shift, so that the exact value
 * is a tie on many outputs, of either sign. `saturating`: acc·M straddles or passes 2^51 (up to 2^54) with
 * total = 31 − shift between 36 and 43, where the device skips the bound's check (the output saturates either way).
 */
export function requantEdgeQModel(
  rng: Rng,
  opcode: 'FULLY_CONNECTED' | 'CONV_2D',
  rounding: RoundingMode,
  saturating = false,
): { model: QModel; inputs: Int8Array[] } {
  const tensors: QTensor[] = [];
  const push = (t: QTensor) => (tensors.push(t), tensors.length - 1);
  const channels = 8,
    depth = 4;
  const mult: number[] = [],
    shift: number[] = [],
    bias: number[] = [];
  for (let c = 0; c < channels; c++) {
    const sign = c % 2 === 0 ? 1 : -1,
      kind = c % 4;
    if (saturating) {
      const log2q = [51, 51, 52, 54][kind];
      mult.push(rng.int(1073741824, 2147483647));
      bias.push(sign * Math.round((2 ** log2q / mult[c]) * (log2q === 51 ? rng.uniform(0.995, 1.005) : 1)));
      shift.push(-(5 + c)); // total 36..43
    } else if (kind < 3) {
      // |acc·M| about 2^51 (either side), 2^52.5 or 2^54; the shift keeps the output near ±64.
      const log2q = [51, 52.5, 54][kind];
      mult.push(rng.int(1073741824, 2147483647));
      bias.push(sign * Math.round((2 ** log2q / mult[c]) * (kind === 0 ? rng.uniform(0.995, 1.005) : 1)));
      shift.push(-Math.round(log2q - 31 - 6));
    } else {
      mult.push(1073741824);
      bias.push(sign * rng.int(0, 2000));
      shift.push(-rng.int(1, 4));
    }
  }
  const x = push(act('input', opcode === 'CONV_2D' ? [1, 2, 3, depth] : [6, depth], rng));
  const wShape = opcode === 'CONV_2D' ? [channels, 1, 1, depth] : [channels, depth];
  const w = push({
    name: 'w',
    shape: wShape,
    type: 'int8',
    scale: [0.01],
    zeroPoint: [0],
    quantizedDimension: 0,
    data: new Int8Array(channels * depth).map(() => rng.int(-127, 127)),
    arenaOffset: -1,
  });
  const b = push({
    name: 'b',
    shape: [channels],
    type: 'int32',
    scale: [0.001],
    zeroPoint: [0],
    quantizedDimension: 0,
    data: Int32Array.from(bias),
    arenaOffset: -1,
  });
  const y = push(act('y', opcode === 'CONV_2D' ? [1, 2, 3, channels] : [6, channels], rng));
  const requant = {
    output_zero_point: tensors[y].zeroPoint[0],
    activation_min: -128,
    activation_max: 127,
    output_multiplier: mult,
    output_shift: shift,
  };
  const op: QOp =
    opcode === 'CONV_2D'
      ? {
          opcode,
          inputs: [x, w, b],
          outputs: [y],
          name: 'edge',
          options: {
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad_top: 0,
            pad_left: 0,
            depth_multiplier: 1,
            input_zero_point: tensors[x].zeroPoint[0],
            ...requant,
          },
        }
      : { opcode, inputs: [x, w, b], outputs: [y], name: 'edge', options: requant };
  const model: QModel = {
    name: 'requant-edge',
    producer: 'test',
    rounding,
    tensors,
    ops: [op],
    inputs: [x],
    outputs: [y],
    arenaBytes: 0,
  };
  planMemory(model);
  const inputs = Array.from({ length: 8 }, () => new Int8Array(numel(tensors[x].shape)).map(() => rng.int(-128, 127)));
  return { model, inputs };
}
