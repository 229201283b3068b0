// Post-training int8 quantization per the TFLite spec, lowering a device graph (host/passes) to a QModel:
// weights symmetric per output channel (zero point 0, −127..127; dense too), activations asymmetric per tensor,
// int32 biases with scale f32(s_in·s_w[c]) and the input zero point folded in. Every option table comes from
// host/quantize/prepare.ts, so the lowering matches what TFLite Micro would compute for the same parameters.
// Tensors that carry `quant` (QDQ models) keep it; the others take their range from calibration.

import { type Clamp, type Graph, ModelError, type Node, numel, type Tensor, tensor } from '../ir/graph';
import type { LutOptions, OpCodeName, OptionsByOp, QModel, QOp, QTensor } from '../ir/qmodel';
import { type Expr, evalExpr, sameExpr, applied } from '../ir/elementwise';
import type { CalibrationStats } from './calibrate';
import { clampInt, f32, kernelRounding, prepareRounding, type RoundingMode } from './fixedpoint';
import {
  foldInputZeroPoint,
  prepareAdd,
  prepareBatchMatMul,
  prepareConv2D,
  prepareFullyConnected,
  prepareHardSwish,
  prepareLayerNorm,
  prepareLeakyRelu,
  prepareLogistic,
  prepareLookupTable,
  prepareMean,
  prepareMul,
  preparePad,
  preparePool2D,
  prepareReduce,
  prepareQuantize,
  preparePrelu,
  prepareRelu,
  prepareSoftmax,
  prepareLogSoftmax,
  prepareSub,
  prepareTanh,
  type QParams,
  TFLITE_TABLE_FNS,
} from './prepare';
import { elementsPerChannel, sameArray } from '../ir/shape';
import { MIRROR_PAD_MODES } from '../interp/int8/mirror-pad';
import { tfliteBilinearTaps } from '../interp/int8/resize-bilinear';
import { tfliteNearestMaps } from '../interp/int8/resize-nearest';

export type { QParams } from './prepare';

/** Asymmetric int8 parameters for a real range widened to include 0 (so real 0 is exactly representable). */
export function paramsForRange(lo: number, hi: number): QParams {
  lo = Math.min(0, lo);
  hi = Math.max(0, hi);
  const scale = f32(hi > lo ? (hi - lo) / 255 : 1);
  return { scale, zeroPoint: clampInt(Math.round(-128 - lo / scale), -128, 127) };
}

const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/** Real → int8 with the given parameters, saturating. */
const quantizeValue = (v: number, q: QParams): number => clampInt(roundHalfAway(v / q.scale) + q.zeroPoint, -128, 127);

/** Real values rounded onto the int8 grid of `q` and back (saturating): what the int8 model holds, in real units. */
export const fakeQuantize = (x: Float32Array, q: QParams): Float32Array =>
  Float32Array.from(x, (v) => (quantizeValue(v, q) - q.zeroPoint) * q.scale);

const LOGISTIC_OUTPUT: QParams = { scale: 1 / 256, zeroPoint: -128 };
const TANH_OUTPUT: QParams = { scale: 1 / 128, zeroPoint: 0 };
const SOFTMAX_OUTPUT: QParams = { scale: 1 / 256, zeroPoint: -128 };
const LOG_SOFTMAX_OUTPUT: QParams = { scale: 16 / 256, zeroPoint: 127 };
/** The longest LOG_SOFTMAX row whose Q12.19 sum of exps (each at most 2^19) stays below 2^31. */
const LOG_SOFTMAX_MAX_DEPTH = 4095;

const sameParams = (a: QParams, b: QParams) => a.scale === b.scale && a.zeroPoint === b.zeroPoint;

/**
 * TFLite's converter widens a weight channel whose values span at most 1e-6 to at least ±5e-7 (ExpandVerySmallRange
 * in its quantization utils). A dead channel (every |w| below ~1e-6) then gets the scale 5e-7/127 and rounds to
 * zeros, as in TFLite's own int8 models; max|w|/127 would give it a scale near 1e-32 and weights of ±127.
 */
const NEAR_ZERO_SPAN = 1e-6;

/**
 * Per-channel scales of symmetric int8 weights along `channelAxis`: the tensor's own if it has them, else
 * max|w|/127 with dead channels widened as TFLite does.
 */
export function weightScales(wt: Tensor, channelAxis: number): number[] {
  const w = wt.data as Float32Array;
  const channels = wt.shape[channelAxis];
  const inner = elementsPerChannel(wt.shape, channelAxis);
  if (wt.quant) {
    if (wt.quant.zeroPoint.some((z) => z !== 0))
      throw new ModelError(`weights '${wt.name}' must be quantized symmetrically (zero point 0)`);
    if (
      wt.quant.scale.length !== 1 &&
      (wt.quant.scale.length !== channels || (wt.quant.axis ?? channelAxis) !== channelAxis)
    ) {
      throw new ModelError(
        `weights '${wt.name}' are quantized along axis ${wt.quant.axis}, expected per-tensor or axis ${channelAxis}`,
      );
    }
    return Array.from({ length: channels }, (_, c) => f32(wt.quant!.scale[wt.quant!.scale.length === 1 ? 0 : c]));
  }
  const lo = new Float64Array(channels).fill(Infinity);
  const hi = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    lo[c] = Math.min(lo[c], w[i]);
    hi[c] = Math.max(hi[c], w[i]);
  }
  return Array.from(lo, (min, c) => {
    const max = hi[c];
    const halfRange = max - min > NEAR_ZERO_SPAN ? Math.max(-min, max) : Math.max(-min, max, NEAR_ZERO_SPAN / 2);
    return f32(halfRange / 127);
  });
}

/** The largest int32 bias magnitude (TFLite's symmetric bias quantization saturates there). */
const INT32_LIMIT = 2147483647;

/**
 * Weight scales widened where a channel's int32 bias (scale s_in·s_w) would overflow, as TFLite's quantizer does
 * (AdjustWeightsForBiasScale): with a dead channel's tiny scale, any real bias would. Returns the channels widened.
 */
function fitBiasScales(scales: number[], bias: Float32Array, inputScale: number): number[] {
  const widened: number[] = [];
  scales.forEach((s, c) => {
    if (Math.abs(bias[c]) / f32(inputScale * s) <= INT32_LIMIT) return;
    scales[c] = f32(((Math.abs(bias[c]) / inputScale) * 1.001) / INT32_LIMIT);
    widened.push(c);
  });
  return widened;
}

/** max |w| of each of `channels` channels, element i being in channel floor(i / inner) mod channels. */
export function channelMaxAbs(w: ArrayLike<number>, channels: number, inner: number): Float64Array {
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(w[i]));
  }
  return maxAbs;
}

/** Weight value → int8 with its channel's scale (nearest, −127..127). */
export const roundWeight = (w: number, scale: number): number => clampInt(roundHalfAway(w / scale), -127, 127);

/**
 * Symmetric int8 weights along `channelAxis`; `rounded` (e.g. from ./gptq) replaces round-to-nearest except in
 * channels whose scale had to widen for their bias (`bias`, at input scale `inputScale`).
 */
function quantizeWeights(
  wt: Tensor,
  channelAxis: number,
  inputScale: number,
  bias?: Float32Array,
  rounded?: Int8Array,
): { data: Int8Array; scales: number[] } {
  const w = wt.data as Float32Array;
  const scales = weightScales(wt, channelAxis);
  const widened = bias && !wt.quant ? fitBiasScales(scales, bias, inputScale) : [];
  const inner = elementsPerChannel(wt.shape, channelAxis);
  const channelOf = (i: number) => Math.floor(i / inner) % scales.length;
  if (!rounded) return { data: Int8Array.from(w, (v, i) => roundWeight(v, scales[channelOf(i)])), scales };
  const data = widened.length ? rounded.slice() : rounded;
  for (let i = 0; i < w.length && widened.length; i++)
    if (widened.includes(channelOf(i))) data[i] = roundWeight(w[i], scales[channelOf(i)]);
  return { data, scales };
}

export interface QuantizeOptions {
  rounding?: RoundingMode;
  /** int8 weights by tensor name, rounded with the scales of weightScales (see ./gptq); others round to nearest. */
  roundedWeights?: Map<string, Int8Array>;
}

export function quantizeGraph(g: Graph, stats: CalibrationStats, opts: QuantizeOptions = {}): QModel {
  if (g.layout !== 'NHWC')
    throw new ModelError(`the quantizer needs an NHWC graph (run the layout pass), got ${g.layout}`);
  const mode = opts.rounding ?? 'double';
  const rounding = prepareRounding(mode);
  const tensors: QTensor[] = [];
  const index = new Map<string, number>();
  const params = new Map<string, QParams>();
  const ops: QOp[] = [];
  /** Weight tensor name → its quantized tensor, for weights several layers share. */
  const sharedWeights = new Map<string, number>();

  const push = (t: QTensor): number => (tensors.push(t), tensors.length - 1);
  const activation = (name: string, q: QParams, shape = tensor(g, name).shape): number => {
    params.set(name, q);
    const i = push({
      name,
      shape,
      type: 'int8',
      scale: [q.scale],
      zeroPoint: [q.zeroPoint],
      quantizedDimension: 0,
      arenaOffset: -1,
    });
    index.set(name, i);
    return i;
  };
  /** The parameters a tensor should get: its own QDQ quantization, else its calibrated range. */
  const chosen = (name: string): QParams => {
    const q = tensor(g, name).quant;
    if (q) return { scale: f32(q.scale[0]), zeroPoint: q.zeroPoint[0] };
    const r = stats.get(name);
    if (!r) throw new ModelError(`no calibration data reached tensor '${name}' (give --calib <data>)`);
    return paramsForRange(r[0], r[1]);
  };
  const constantOperand = (name: string): number => {
    const t = tensor(g, name);
    const v = t.data as Float32Array;
    let lo = 0,
      hi = 0;
    for (let i = 0; i < v.length; i++) {
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
    const q = t.quant ? { scale: f32(t.quant.scale[0]), zeroPoint: t.quant.zeroPoint[0] } : paramsForRange(lo, hi);
    params.set(name, q);
    const i = push({
      name,
      shape: t.shape,
      type: 'int8',
      scale: [q.scale],
      zeroPoint: [q.zeroPoint],
      quantizedDimension: 0,
      data: Int8Array.from(v, (x) => quantizeValue(x, q)),
      arenaOffset: -1,
    });
    index.set(name, i);
    return i;
  };
  const operand = (n: Node, name: string): number => {
    const i = index.get(name);
    if (i !== undefined) return i;
    if (tensor(g, name).data) return constantOperand(name);
    throw new ModelError(`node ${n.name} reads '${name}' before it is computed`);
  };
  /** Node n as one `opcode` op over the operands `inputs`, its output on the parameters `qy`. */
  const emit = <K extends OpCodeName>(n: Node, opcode: K, inputs: number[], qy: QParams, options: OptionsByOp[K]) => {
    ops.push({ opcode, inputs, outputs: [activation(n.op.outputs[0], qy)], name: n.name, options } as QOp);
  };
  /**
   * Node n as an op whose output holds only its input's values (a reshape, pad, mirror pad, resize, strided gather):
   * the output keeps the input's quantization, as TFLite's converter has it.
   */
  const sameQuantization = <K extends OpCodeName>(n: Node, opcode: K, options: (q: QParams) => OptionsByOp[K]) => {
    const x = operand(n, n.op.inputs[0]);
    const q = params.get(n.op.inputs[0])!;
    emit(n, opcode, [x], q, options(q));
  };

  /** Input k of node n on the parameters `q`: as it is, requantized by a QUANTIZE op, or a constant quantized so. */
  const onParams = (n: Node, name: string, k: number, q: QParams): number => {
    const t = tensor(g, name);
    if (t.data && !index.has(name))
      return push({
        name: `${n.name}/input${k}`,
        shape: t.shape,
        type: 'int8',
        scale: [q.scale],
        zeroPoint: [q.zeroPoint],
        quantizedDimension: 0,
        data: Int8Array.from(t.data as Float32Array, (v) => quantizeValue(v, q)),
        arenaOffset: -1,
      });
    const x = operand(n, name);
    const qx = params.get(name)!;
    if (sameParams(qx, q)) return x;
    const r = push({
      name: `${n.name}/requantized${k}`,
      shape: tensors[x].shape,
      type: 'int8',
      scale: [q.scale],
      zeroPoint: [q.zeroPoint],
      quantizedDimension: 0,
      arenaOffset: -1,
    });
    ops.push({
      opcode: 'QUANTIZE',
      inputs: [x],
      outputs: [r],
      name: `${n.name}/requantize${k}`,
      options: prepareQuantize(qx, q, rounding),
    });
    return r;
  };

  const inputs = g.inputs.map((name) => activation(name, chosen(name)));

  for (const n of g.nodes) {
    const op = n.op;
    const yName = op.outputs[0];
    const qx = (k = 0) => params.get(op.inputs[k])!;
    switch (op.kind) {
      case 'conv2d':
      case 'depthwise_conv2d':
      case 'conv_transpose':
      case 'dense': {
        const x = operand(n, op.inputs[0]);
        const qy = chosen(yName);
        const wt = tensor(g, op.inputs[1]);
        if (!wt.data) throw new ModelError(`node ${n.name}: weights '${wt.name}' must be constant`);
        const dw = op.kind === 'depthwise_conv2d';
        const channelAxis = dw ? 3 : 0;
        const bf = op.inputs[2] ? (tensor(g, op.inputs[2]).data as Float32Array) : undefined;
        const { data: wq, scales } = quantizeWeights(
          wt,
          channelAxis,
          qx().scale,
          bf,
          opts.roundedWeights?.get(wt.name),
        );
        const C = scales.length;
        const biasScales = scales.map((s) => f32(qx().scale * s));
        const rawBias = bf
          ? Int32Array.from(biasScales, (s, c) => clampInt(roundHalfAway(bf[c] / s), -INT32_LIMIT, INT32_LIMIT))
          : undefined;
        const bias = foldInputZeroPoint(wq, wt.shape, channelAxis, rawBias, qx().zeroPoint);
        // A weight several layers read (an unrolled LSTM/GRU's, once per time step) is stored once when it
        // quantized the same for each.
        const stored = sharedWeights.get(wt.name);
        const w =
          stored !== undefined && sameArray(tensors[stored].scale, scales) && sameArray(tensors[stored].data!, wq)
            ? stored
            : push({
                name: wt.name,
                shape: wt.shape,
                type: 'int8',
                scale: scales,
                zeroPoint: scales.map(() => 0),
                quantizedDimension: channelAxis,
                data: wq,
                arenaOffset: -1,
              });
        sharedWeights.set(wt.name, w);
        const b = push({
          name: op.inputs[2] ?? `${n.name}/bias`,
          shape: [C],
          type: 'int32',
          scale: biasScales,
          zeroPoint: scales.map(() => 0),
          quantizedDimension: 0,
          data: bias,
          arenaOffset: -1,
        });
        if (op.kind === 'dense') {
          emit(n, 'FULLY_CONNECTED', [x, w, b], qy, prepareFullyConnected(qx(), scales, qy, op.attrs.clamp, rounding));
        } else {
          const a = op.attrs;
          if (!dw && a.group !== 1)
            throw new ModelError(`node ${n.name}: grouped convolution (group ${a.group}) is not supported`);
          const geometry = {
            stride_h: a.strides[0],
            stride_w: a.strides[1],
            dilation_h: a.dilations[0],
            dilation_w: a.dilations[1],
            pad_top: a.pads[0],
            pad_left: a.pads[1],
            depth_multiplier: dw ? C / tensor(g, op.inputs[0]).shape[3] : 1,
          };
          const options = prepareConv2D(geometry, qx(), scales, qy, a.clamp, rounding);
          emit(
            n,
            dw ? 'DEPTHWISE_CONV_2D' : op.kind === 'conv_transpose' ? 'TRANSPOSE_CONV' : 'CONV_2D',
            [x, w, b],
            qy,
            options,
          );
        }
        break;
      }
      case 'max_pool':
      case 'avg_pool': {
        const x = operand(n, op.inputs[0]);
        const a = op.attrs;
        if (a.countIncludePad && op.kind === 'avg_pool' && a.pads.some((p) => p > 0)) {
          throw new ModelError(
            `node ${n.name}: average pooling that counts padded taps is not supported (TFLite divides by the inside taps)`,
          );
        }
        const [, H, W] = tensor(g, op.inputs[0]).shape;
        if (
          op.kind === 'avg_pool' &&
          a.kernel[0] === H &&
          a.kernel[1] === W &&
          a.pads.every((p) => p === 0) &&
          !a.clamp &&
          mode !== 'tflite'
        ) {
          // A global average is much narrower than the map it averages, but AVERAGE_POOL_2D must keep its input's
          // scale; MEAN gives it its own calibrated range (on ResNet-8 that step was most of the logits' error).
          // Not in 'tflite' rounding, whose MEAN full TFLite computes differently (device/README.md).
          const qy = chosen(yName);
          emit(n, 'MEAN', [x], qy, prepareMean(qx(), qy, rounding));
          break;
        }
        const geometry = {
          filter_h: a.kernel[0],
          filter_w: a.kernel[1],
          stride_h: a.strides[0],
          stride_w: a.strides[1],
          pad_top: a.pads[0],
          pad_left: a.pads[1],
        };
        emit(
          n,
          op.kind === 'max_pool' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
          [x],
          qx(),
          preparePool2D(geometry, qx(), a.clamp),
        );
        break;
      }
      case 'add':
      case 'sub':
      case 'mul': {
        if (op.inputs.every((name) => tensor(g, name).data))
          throw new ModelError(`node ${n.name}: ${op.kind} of two constants should have been folded`);
        const a = operand(n, op.inputs[0]);
        const b = operand(n, op.inputs[1]);
        const qy = chosen(yName);
        const clamp = op.attrs.clamp;
        if (op.kind === 'mul') emit(n, 'MUL', [a, b], qy, prepareMul(qx(0), qx(1), qy, clamp, rounding));
        else if (op.kind === 'add') emit(n, 'ADD', [a, b], qy, prepareAdd(qx(0), qx(1), qy, clamp, rounding));
        else emit(n, 'SUB', [a, b], qy, prepareSub(qx(0), qx(1), qy, clamp, rounding));
        break;
      }
      case 'mean': {
        const x = operand(n, op.inputs[0]);
        const rank = tensor(g, op.inputs[0]).shape.length;
        if (rank !== 4 || op.attrs.axes.length !== 2 || !op.attrs.axes.includes(1) || !op.attrs.axes.includes(2)) {
          throw new ModelError(
            `node ${n.name}: MEAN is supported over axes 1,2 of a 4-D tensor, got axes [${op.attrs.axes}]`,
          );
        }
        const qy = chosen(yName);
        emit(n, 'MEAN', [x], qy, prepareMean(qx(), qy, rounding));
        break;
      }
      case 'reshape':
        sameQuantization(n, 'RESHAPE', () => null);
        break;
      case 'concat': {
        const qy = chosen(yName);
        const rank = tensor(g, yName).shape.length;
        const axis = op.attrs.axis < 0 ? op.attrs.axis + rank : op.attrs.axis;
        // Like the TFLite converter: inputs share the output's parameters, requantized where theirs differ.
        const xs = op.inputs.map((name, k) => onParams(n, name, k, qy));
        const y = activation(yName, qy);
        if (op.attrs.clamp) {
          const t = push({
            name: `${n.name}/unclamped`,
            shape: tensors[y].shape,
            type: 'int8',
            scale: [qy.scale],
            zeroPoint: [qy.zeroPoint],
            quantizedDimension: 0,
            arenaOffset: -1,
          });
          ops.push({ opcode: 'CONCATENATION', inputs: xs, outputs: [t], name: n.name, options: { axis } });
          ops.push({
            opcode: 'QUANTIZE',
            inputs: [t],
            outputs: [y],
            name: `${n.name}/clamp`,
            options: prepareRelu(qy, qy, op.attrs.clamp, kernelRounding(mode, 'RELU')),
          });
        } else {
          ops.push({ opcode: 'CONCATENATION', inputs: xs, outputs: [y], name: n.name, options: { axis } });
        }
        break;
      }
      case 'pad': {
        const pads = padPairs(op.attrs.pads, tensor(g, op.inputs[0]).shape.length);
        // The pad value is rounded onto the input's grid.
        const value = op.attrs.value;
        sameQuantization(n, 'PAD', (q) => preparePad(pads, q, value === 0 ? undefined : quantizeValue(value, q)));
        break;
      }
      case 'resize_bilinear': {
        // TFLite's int8 RESIZE_BILINEAR blends raw values: the output keeps the input's quantization.
        const [inShape, outShape] = [tensor(g, op.inputs[0]).shape, tensor(g, yName).shape];
        const { alignCorners, halfPixelCenters } = op.attrs;
        sameQuantization(n, 'RESIZE_BILINEAR', () => ({
          rows: tfliteBilinearTaps(inShape[1], outShape[1], alignCorners, halfPixelCenters),
          cols: tfliteBilinearTaps(inShape[2], outShape[2], alignCorners, halfPixelCenters),
          align_corners: alignCorners ? 1 : 0,
          half_pixel_centers: halfPixelCenters ? 1 : 0,
        }));
        break;
      }
      case 'resize_nearest': {
        const [inShape, outShape] = [tensor(g, op.inputs[0]).shape, tensor(g, yName).shape];
        const { alignCorners, halfPixelCenters } = op.attrs;
        sameQuantization(n, 'RESIZE_NEAREST_NEIGHBOR', () => ({
          ...tfliteNearestMaps(inShape, outShape, alignCorners, halfPixelCenters),
          align_corners: alignCorners ? 1 : 0,
          half_pixel_centers: halfPixelCenters ? 1 : 0,
        }));
        break;
      }
      case 'mirror_pad':
        sameQuantization(n, 'MIRROR_PAD', () => ({
          paddings: padPairs(op.attrs.pads, tensor(g, op.inputs[0]).shape.length),
          mode: MIRROR_PAD_MODES[op.attrs.mode],
        }));
        break;
      case 'softmax': {
        const x = operand(n, op.inputs[0]);
        const rank = tensor(g, op.inputs[0]).shape.length;
        if (op.attrs.axis !== -1 && op.attrs.axis !== rank - 1)
          throw new ModelError(`node ${n.name}: softmax is supported over the last axis only`);
        emit(n, 'SOFTMAX', [x], SOFTMAX_OUTPUT, prepareSoftmax(qx(), op.attrs.beta, SOFTMAX_OUTPUT, rounding));
        break;
      }
      case 'log_softmax': {
        const x = operand(n, op.inputs[0]);
        const shape = tensor(g, op.inputs[0]).shape;
        if (op.attrs.axis !== -1 && op.attrs.axis !== shape.length - 1)
          throw new ModelError(`node ${n.name}: log_softmax is supported over the last axis only`);
        if (shape[shape.length - 1] > LOG_SOFTMAX_MAX_DEPTH)
          throw new ModelError(`node ${n.name}: log_softmax rows hold at most ${LOG_SOFTMAX_MAX_DEPTH} values`);
        emit(n, 'LOG_SOFTMAX', [x], LOG_SOFTMAX_OUTPUT, prepareLogSoftmax(qx(), LOG_SOFTMAX_OUTPUT, rounding));
        break;
      }
      case 'sigmoid':
        emit(
          n,
          'LOGISTIC',
          [operand(n, op.inputs[0])],
          LOGISTIC_OUTPUT,
          prepareLogistic(qx(), LOGISTIC_OUTPUT, rounding),
        );
        break;
      case 'tanh':
        emit(n, 'TANH', [operand(n, op.inputs[0])], TANH_OUTPUT, prepareTanh(qx(), TANH_OUTPUT, rounding));
        break;
      case 'leaky_relu': {
        const x = operand(n, op.inputs[0]);
        const qy = chosen(yName);
        emit(n, 'LEAKY_RELU', [x], qy, prepareLeakyRelu(qx(), qy, op.attrs.alpha, rounding));
        break;
      }
      case 'hard_swish':
      case 'elementwise': {
        const x = operand(n, op.inputs[0]);
        const qy = chosen(yName);
        const table =
          op.kind === 'hard_swish'
            ? { opcode: 'HARD_SWISH' as const, options: prepareHardSwish(qx(), qy, rounding) }
            : lookupOp(op.attrs.expr, qx(), qy);
        emit(n, table.opcode, [x], qy, table.options);
        break;
      }
      case 'prelu': {
        const x = operand(n, op.inputs[0]);
        const alpha = operand(n, op.inputs[1]);
        const qy = chosen(yName);
        emit(n, 'PRELU', [x, alpha], qy, preparePrelu(qx(0), qx(1), qy, rounding));
        break;
      }
      case 'maximum':
      case 'minimum': {
        // As TFLite's converter has it: both inputs on the output's parameters.
        const qy = chosen(yName);
        const ab = op.inputs.map((name, k) => onParams(n, name, k, qy));
        emit(n, op.kind === 'maximum' ? 'MAXIMUM' : 'MINIMUM', ab, qy, null);
        break;
      }
      case 'relu':
      case 'clip': {
        const x = operand(n, op.inputs[0]);
        const qy = chosen(yName);
        const clamp: Clamp = op.kind === 'clip' ? op.attrs : { min: 0, max: Infinity };
        emit(n, 'QUANTIZE', [x], qy, prepareRelu(qx(), qy, clamp, kernelRounding(mode, 'RELU')));
        break;
      }
      case 'gather_strided':
        sameQuantization(n, 'GATHER_STRIDED', () => ({
          offset: op.attrs.offset,
          shape: op.attrs.shape,
          strides: op.attrs.strides,
        }));
        break;
      case 'reduce': {
        const x = operand(n, op.inputs[0]);
        const { reducer, outer, count, inner } = op.attrs;
        // MAX keeps the input's quantization (every output is an input value).
        const qy = reducer === 'max' ? qx() : chosen(yName);
        emit(n, 'REDUCE', [x], qy, prepareReduce(reducer, { outer, count, inner }, qx(), qy, rounding));
        break;
      }
      case 'batch_matmul': {
        const [a, b] = [operand(n, op.inputs[0]), operand(n, op.inputs[1])];
        const { batch, rows, depth, cols, lhsBatchStride, rhsBatchStride } = op.attrs;
        const qy = chosen(yName);
        const geometry = {
          batch,
          rows,
          depth,
          cols,
          lhs_batch_stride: lhsBatchStride,
          rhs_batch_stride: rhsBatchStride,
        };
        emit(n, 'BATCH_MATMUL', [a, b], qy, prepareBatchMatMul(geometry, qx(0), qx(1), qy, undefined, rounding));
        break;
      }
      case 'layer_norm': {
        const x = operand(n, op.inputs[0]);
        const { count, epsilon } = op.attrs;
        const gamma = tensor(g, op.inputs[1]).data as Float32Array;
        const beta = tensor(g, op.inputs[2]).data as Float32Array;
        // γ symmetric per tensor, widened where a β would not fit the int32 beside t·γ (|t| ≤ 2^20 + 1).
        const room = INT32_LIMIT - 128 * (2 ** 20 + 1);
        const unit = Math.sqrt(count) / 2 ** 20;
        const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const gammaScale = f32(Math.max(maxAbs(gamma) / 127, maxAbs(beta) / (unit * room), 1e-12));
        const qy = chosen(yName);
        const push8 = (name: string, data: Int8Array | Int32Array, type: 'int8' | 'int32', scale: number) =>
          push({
            name,
            shape: [count],
            type,
            scale: [scale],
            zeroPoint: [0],
            quantizedDimension: 0,
            data,
            arenaOffset: -1,
          });
        const w = push8(
          op.inputs[1],
          Int8Array.from(gamma, (v) => roundWeight(v, gammaScale)),
          'int8',
          gammaScale,
        );
        const biasScale = gammaScale * unit;
        const b = push8(
          op.inputs[2],
          Int32Array.from(beta, (v) => clampInt(roundHalfAway(v / biasScale), -room, room)),
          'int32',
          f32(biasScale),
        );
        const rows = numel(tensor(g, op.inputs[0]).shape) / count;
        emit(n, 'LAYER_NORM', [x, w, b], qy, prepareLayerNorm(rows, count, epsilon, qx(), gammaScale, qy, rounding));
        break;
      }
      default:
        throw new ModelError(
          `the quantizer does not support op '${op.kind}' (node ${n.name}); the passes should have lowered it`,
        );
    }
  }
  const outputs = g.outputs.map((o) => {
    const i = index.get(o);
    if (i === undefined) throw new ModelError(`graph output '${o}' is not computed by any op`);
    return i;
  });
  return {
    name: g.name,
    producer: `morsel (${g.meta.producer ?? 'unknown'})`,
    rounding: mode,
    tensors,
    ops,
    inputs,
    outputs,
    arenaBytes: 0,
  };
}

/**
 * An expression's table op: the TFLite builtin it is, with the float32 transform TFLite tabulates for it (its int8
 * ELU, EXP and GELU are tables too), or a LUT of the expression's own value.
 */
function lookupOp(
  e: Expr,
  input: QParams,
  output: QParams,
): { opcode: 'ELU' | 'EXP' | 'GELU' | 'LUT'; options: LutOptions } {
  const table = (f: (x: number) => number) => prepareLookupTable(input, output, f);
  if (sameExpr(e, applied('elu', 1))) return { opcode: 'ELU', options: table(TFLITE_TABLE_FNS.ELU) };
  if (sameExpr(e, applied('exp'))) return { opcode: 'EXP', options: table(TFLITE_TABLE_FNS.EXP) };
  if (sameExpr(e, applied('gelu', 0))) return { opcode: 'GELU', options: table(TFLITE_TABLE_FNS.GELU) };
  if (sameExpr(e, applied('gelu', 1))) return { opcode: 'GELU', options: table(TFLITE_TABLE_FNS.GELU_TANH) };
  return { opcode: 'LUT', options: table((v) => evalExpr(e, v)) };
}

/** The IR's pads are ONNX-style [begin_0..begin_n, end_0..end_n]; the schema wants before/after pairs per dimension. */
function padPairs(pads: readonly number[], rank: number): number[] {
  if (pads.length !== 2 * rank)
    throw new ModelError(`pad needs ${2 * rank} values for a rank-${rank} tensor, got ${pads.length}`);
  return Array.from({ length: 2 * rank }, (_, i) => pads[(i % 2) * rank + Math.floor(i / 2)]);
}

export function quantizeInput(model: QModel, x: Float32Array, which = 0): Int8Array {
  const t = model.tensors[model.inputs[which]];
  if (x.length !== numel(t.shape)) throw new ModelError(`input needs ${numel(t.shape)} values, got ${x.length}`);
  const q = { scale: t.scale[0], zeroPoint: t.zeroPoint[0] };
  return Int8Array.from(x, (v) => quantizeValue(v, q));
}

export function dequantizeOutput(model: QModel, y: Int8Array, which = 0): Float32Array {
  const t = model.tensors[model.outputs[which]];
  return Float32Array.from(y, (q) => t.scale[0] * (q - t.zeroPoint[0]));
}
