// Post-training int8 quantization per the TFLite spec, lowering a device graph (host/passes) to a QModel:
// weights symmetric per output channel (zero point 0, −127..127), activations asymmetric per tensor,
// int32 biases with scale s_in·s_w[c] and the input zero point folded in, requantization multipliers
// computed like TFLite Micro's Prepare. Pools and reshapes keep their input's parameters.

import { Clamp, Graph, ModelError, Node, numel, tensor } from '../ir/graph';
import { LutOptions, QModel, QOp, QTensor } from '../ir/qmodel';
import { CalibrationStats } from './calibrate';
import { clampInt, f32, quantizeMultiplier, Rounding } from './fixedpoint';

interface QParams { scale: number; zeroPoint: number }

export function paramsForRange(lo: number, hi: number): QParams {
  lo = Math.min(0, lo);
  hi = Math.max(0, hi);
  const scale = f32(hi > lo ? (hi - lo) / 255 : 1);
  return { scale, zeroPoint: clampInt(Math.round(-128 - lo / scale), -128, 127) };
}

function activationBounds(q: QParams, clamp?: Clamp): [number, number] {
  if (!clamp) return [-128, 127];
  const lo = Number.isFinite(clamp.min) ? clampInt(q.zeroPoint + Math.round(clamp.min / q.scale), -128, 127) : -128;
  const hi = Number.isFinite(clamp.max) ? clampInt(q.zeroPoint + Math.round(clamp.max / q.scale), -128, 127) : 127;
  return [lo, hi];
}

const FIXED_OUTPUT: Partial<Record<string, QParams>> = {
  sigmoid: { scale: 1 / 256, zeroPoint: -128 },
  tanh: { scale: 1 / 128, zeroPoint: 0 },
};

export function quantizeGraph(g: Graph, stats: CalibrationStats, opts: { rounding?: Rounding } = {}): QModel {
  const tensors: QTensor[] = [];
  const index = new Map<string, number>();
  const params = new Map<string, QParams>();
  const add = (t: QTensor, key?: string) => {
    tensors.push(t);
    if (key) index.set(key, tensors.length - 1);
    return tensors.length - 1;
  };
  const activation = (name: string, q: QParams) => {
    params.set(name, q);
    return add({ name, shape: tensor(g, name).shape, type: 'int8', scale: [q.scale], zeroPoint: [q.zeroPoint], quantizedDimension: 0, arenaOffset: -1 }, name);
  };
  const calibrated = (name: string): QParams => {
    const r = stats.get(name);
    if (!r) throw new ModelError(`no calibration data reached tensor '${name}' (give --calib <data>)`);
    return paramsForRange(r[0], r[1]);
  };
  const ops: QOp[] = [];
  const inputs = g.inputs.map((n) => activation(n, calibrated(n)));

  for (const n of g.nodes) {
    const op = n.op;
    const xName = op.inputs[0];
    const x = index.get(xName);
    if (x === undefined) throw new ModelError(`node ${n.name} reads '${xName}', which is not an activation`);
    const qx = params.get(xName)!;
    const yName = op.outputs[0];
    switch (op.kind) {
      case 'conv2d':
      case 'depthwise_conv2d':
      case 'dense': {
        const qy = calibrated(yName);
        const wt = tensor(g, op.inputs[1]);
        const wf = wt.data as Float32Array;
        const dw = op.kind === 'depthwise_conv2d';
        const C = dw ? wt.shape[3] : wt.shape[0];
        const per = wf.length / C;
        const channel = (i: number) => (dw ? i % C : Math.floor(i / per));
        const maxAbs = new Float64Array(C);
        for (let i = 0; i < wf.length; i++) maxAbs[channel(i)] = Math.max(maxAbs[channel(i)], Math.abs(wf[i]));
        const ws = Array.from(maxAbs, (m) => f32(m > 0 ? m / 127 : 1));
        const wq = new Int8Array(wf.length);
        const sumW = new Float64Array(C);
        for (let i = 0; i < wf.length; i++) {
          wq[i] = clampInt(Math.round(wf[i] / ws[channel(i)]), -127, 127);
          sumW[channel(i)] += wq[i];
        }
        const bf = op.inputs[2] ? (tensor(g, op.inputs[2]).data as Float32Array) : new Float32Array(C);
        // Zero-point folding: FC adds input_offset·Σw; conv subtracts in_zp·Σw (padded taps then read in_zp).
        const bias = new Int32Array(C).map((_, c) => Math.round(bf[c] / (qx.scale * ws[c])) - qx.zeroPoint * sumW[c]);
        const multipliers = ws.map((s) => quantizeMultiplier((qx.scale * s) / qy.scale, opts.rounding));
        const w = add({ name: wt.name, shape: wt.shape, type: 'int8', scale: ws, zeroPoint: ws.map(() => 0), quantizedDimension: dw ? 3 : 0, data: wq, arenaOffset: -1 });
        const b = add({ name: `${n.name}/bias`, shape: [C], type: 'int32', scale: ws.map((s) => f32(qx.scale * s)), zeroPoint: ws.map(() => 0), quantizedDimension: 0, data: bias, arenaOffset: -1 });
        const y = activation(yName, qy);
        const [lo, hi] = activationBounds(qy, op.attrs.clamp);
        const requant = { output_multiplier: multipliers.map((m) => m.multiplier), output_shift: multipliers.map((m) => m.shift) };
        if (op.kind === 'dense') {
          ops.push({ opcode: 'FULLY_CONNECTED', inputs: [x, w, b], outputs: [y], name: n.name, options: { output_zero_point: qy.zeroPoint, activation_min: lo, activation_max: hi, ...requant } });
        } else {
          const a = op.attrs;
          ops.push({
            opcode: dw ? 'DEPTHWISE_CONV_2D' : 'CONV_2D', inputs: [x, w, b], outputs: [y], name: n.name,
            options: {
              stride_h: a.strides[0], stride_w: a.strides[1], dilation_h: a.dilations[0], dilation_w: a.dilations[1],
              pad_top: a.pads[0], pad_left: a.pads[1], depth_multiplier: dw ? C / tensor(g, xName).shape[3] : 1,
              input_zero_point: qx.zeroPoint, output_zero_point: qy.zeroPoint, activation_min: lo, activation_max: hi, ...requant,
            },
          });
        }
        break;
      }
      case 'max_pool':
      case 'avg_pool': {
        const y = activation(yName, qx);
        const a = op.attrs;
        const [lo, hi] = activationBounds(qx, a.clamp);
        ops.push({
          opcode: op.kind === 'max_pool' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', inputs: [x], outputs: [y], name: n.name,
          options: { filter_h: a.kernel[0], filter_w: a.kernel[1], stride_h: a.strides[0], stride_w: a.strides[1], pad_top: a.pads[0], pad_left: a.pads[1], activation_min: lo, activation_max: hi },
        });
        break;
      }
      case 'add':
      case 'sub': {
        // TFLite Micro's int8 ADD/SUB prepare: inputs rescaled to twice the larger input scale, shifted left by 20.
        const bName = op.inputs[1];
        const xb = index.get(bName);
        if (xb === undefined) throw new ModelError(`node ${n.name}: ${op.kind} with a constant operand is not supported yet`);
        const qb = params.get(bName)!;
        const qy = calibrated(yName);
        const leftShift = 20;
        const twiceMax = 2 * Math.max(qx.scale, qb.scale);
        const m1 = quantizeMultiplier(qx.scale / twiceMax, opts.rounding);
        const m2 = quantizeMultiplier(qb.scale / twiceMax, opts.rounding);
        const mo = quantizeMultiplier(twiceMax / (Math.pow(2, leftShift) * qy.scale), opts.rounding);
        const y = activation(yName, qy);
        const [lo, hi] = activationBounds(qy, op.attrs.clamp);
        ops.push({
          opcode: op.kind === 'add' ? 'ADD' : 'SUB', inputs: [x, xb], outputs: [y], name: n.name,
          options: {
            input1_offset: -qx.zeroPoint, input2_offset: -qb.zeroPoint, output_offset: qy.zeroPoint, left_shift: leftShift,
            input1_multiplier: m1.multiplier, input1_shift: m1.shift, input2_multiplier: m2.multiplier, input2_shift: m2.shift,
            output_multiplier: mo.multiplier, output_shift: mo.shift, activation_min: lo, activation_max: hi,
          },
        });
        break;
      }
      case 'mean': {
        // TFLite's int8 Mean over H, W: Σ(x − zp_in), requantized by s_in/s_out, then divided by the count.
        const qy = calibrated(yName);
        const { multiplier, shift } = quantizeMultiplier(qx.scale / qy.scale, opts.rounding);
        ops.push({ opcode: 'MEAN', inputs: [x], outputs: [activation(yName, qy)], name: n.name, options: { input_zero_point: qx.zeroPoint, output_zero_point: qy.zeroPoint, multiplier, shift } });
        break;
      }
      case 'reshape':
        ops.push({ opcode: 'RESHAPE', inputs: [x], outputs: [activation(yName, qx)], name: n.name, options: null });
        break;
      case 'relu':
      case 'clip':
      case 'sigmoid':
      case 'tanh':
      case 'leaky_relu': {
        const qy = FIXED_OUTPUT[op.kind] ?? calibrated(yName);
        const f = unaryFunction(n);
        const table: LutOptions['table'] = [];
        for (let q = -128; q < 128; q++) table.push(clampInt(Math.round(f(qx.scale * (q - qx.zeroPoint)) / qy.scale) + qy.zeroPoint, -128, 127));
        const opcode = op.kind === 'sigmoid' ? 'LOGISTIC' : op.kind === 'tanh' ? 'TANH' : op.kind === 'leaky_relu' ? 'LEAKY_RELU' : 'QUANTIZE';
        ops.push({ opcode, inputs: [x], outputs: [activation(yName, qy)], name: n.name, options: { table } });
        break;
      }
      default:
        throw new ModelError(`the quantizer does not support op '${op.kind}' (node ${n.name}) yet`);
    }
  }
  const outputs = g.outputs.map((o) => {
    const i = index.get(o);
    if (i === undefined) throw new ModelError(`graph output '${o}' is not computed by any op`);
    return i;
  });
  return { name: g.name, producer: `morsel (${g.meta.producer ?? 'unknown'})`, rounding: opts.rounding ?? 'double', tensors, ops, inputs, outputs, arenaBytes: 0 };
}

function unaryFunction(n: Node): (x: number) => number {
  const op = n.op;
  switch (op.kind) {
    case 'relu': return (x) => Math.max(0, x);
    case 'clip': return (x) => Math.min(op.attrs.max, Math.max(op.attrs.min, x));
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'leaky_relu': return (x) => (x >= 0 ? x : op.attrs.alpha * x);
    default: throw new ModelError(`'${op.kind}' is not an element-wise function`);
  }
}

export function quantizeInput(model: QModel, x: Float32Array, which = 0): Int8Array {
  const t = model.tensors[model.inputs[which]];
  if (x.length !== numel(t.shape)) throw new ModelError(`input needs ${numel(t.shape)} values, got ${x.length}`);
  const [s, zp] = [t.scale[0], t.zeroPoint[0]];
  return Int8Array.from(x, (v) => clampInt(Math.round(v / s) + zp, -128, 127));
}

export function dequantizeOutput(model: QModel, y: Int8Array, which = 0): Float32Array {
  const t = model.tensors[model.outputs[which]];
  return Float32Array.from(y, (q) => t.scale[0] * (q - t.zeroPoint[0]));
}
