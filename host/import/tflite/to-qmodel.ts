// An int8 .tflite → QModel, without re-quantizing: every tensor keeps its exact float32 scale and zero point, and
// the option tables come from TFLite Micro's Prepare (host/quantize/prepare.ts), so the host reference and the
// device reproduce TFLM byte for byte (rounding 'double') or full TFLite's reference kernels ('single').
//
// Float boundaries of an int8 model (QUANTIZE from a float input, DEQUANTIZE to a float output) are stripped:
// the int8 tensors behind them become the QModel's inputs and outputs, so the caller quantizes with the
// input tensor's scale/zero point and dequantizes with the output's.

import { type Clamp, ModelError, numel } from '../../ir/graph';
import type { QModel, QOp, QTensor } from '../../ir/qmodel';
import { kernelRounding, prepareRounding, type RoundingMode } from '../../quantize/fixedpoint';
import {
  foldInputZeroPoint,
  prepareAdd,
  prepareConv2D,
  prepareFullyConnected,
  prepareHardSwish,
  prepareLeakyRelu,
  prepareLookupTable,
  preparePrelu,
  TFLITE_TABLE_FNS,
  prepareLogistic,
  prepareMean,
  prepareMul,
  preparePad,
  preparePool2D,
  prepareQuantize,
  prepareRelu,
  prepareSoftmax,
  prepareLogSoftmax,
  prepareSub,
  prepareTanh,
  prepareBatchMatMul,
  prepareReduce,
  type QParams,
} from '../../quantize/prepare';
import { batchMatMulGeometry, gatherView, reduceGeometry } from './strided';
import type { TfliteModel, TfliteOperator, TfliteTensor } from './reader';
import { ActivationFunction, activationFunctionName, BuiltinOperator, TensorType } from './schema';
import { transposeConvPads, windowGeometry } from './padding';
import { tfliteBilinearTaps } from '../../interp/int8/resize-bilinear';
import { tfliteNearestMaps } from '../../interp/int8/resize-nearest';

export interface TfliteImportOptions {
  /** 'double' (TFLite Micro, the default), 'single' (TFLITE_SINGLE_ROUNDING in every kernel) or 'tflite' (full TFLite's kernels). */
  rounding?: RoundingMode;
  name?: string;
}

const B = BuiltinOperator;
export const SUPPORTED_INT8_OPS = [
  'ADD',
  'AVERAGE_POOL_2D',
  'BATCH_MATMUL',
  'CONCATENATION',
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'DEQUANTIZE',
  'ELU',
  'EXP',
  'FULLY_CONNECTED',
  'GATHER',
  'GELU',
  'HARD_SWISH',
  'LEAKY_RELU',
  'LOGISTIC',
  'LOG_SOFTMAX',
  'MAX_POOL_2D',
  'MAXIMUM',
  'MEAN',
  'MIRROR_PAD',
  'MINIMUM',
  'MUL',
  'PAD',
  'PRELU',
  'QUANTIZE',
  'REDUCE_MAX',
  'RELU',
  'RELU6',
  'RESHAPE',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'SOFTMAX',
  'SUB',
  'SUM',
  'TANH',
  'TRANSPOSE_CONV',
] as const;

/** The fused activation as a clamp in real units (CalculateActivationRangeQuantized's cases). */
export function fusedClamp(op: TfliteOperator, code: number | undefined): Clamp | undefined {
  switch (code ?? ActivationFunction.NONE) {
    case ActivationFunction.NONE:
      return undefined;
    case ActivationFunction.RELU:
      return { min: 0, max: Infinity };
    case ActivationFunction.RELU6:
      return { min: 0, max: 6 };
    case ActivationFunction.RELU_N1_TO_1:
      return { min: -1, max: 1 };
    default:
      throw new ModelError(
        `operator ${op.index} (${op.opName}): fused activation ${activationFunctionName(code!)} is not supported (Morsel fuses NONE, RELU, RELU6, RELU_N1_TO_1)`,
      );
  }
}

const isFloat = (t: TfliteTensor) => t.type === TensorType.FLOAT32;

/** True when the model computes in int8 (possibly behind float QUANTIZE/DEQUANTIZE boundaries). */
export function isInt8Model(m: TfliteModel): boolean {
  return m.operators.some((op) => op.outputs.some((o) => m.tensors[o].type === TensorType.INT8));
}

export function tfliteToQModel(m: TfliteModel, opts: TfliteImportOptions = {}): QModel {
  const mode = opts.rounding ?? 'double';
  // Prepare is built for one rounding; the kernels' own rounding is the interpreter's business (kernelRounding).
  const rounding = prepareRounding(mode);
  const tensors: QTensor[] = [];
  const index = new Map<number, number>();
  const ops: QOp[] = [];
  // Tensors that stand for another: a stripped QUANTIZE's float input is its int8 output, and so on.
  const alias = new Map<number, number>();
  const resolve = (t: number) => alias.get(t) ?? t;

  const where = (op: TfliteOperator) => `operator ${op.index} (${op.opName})`;
  const tensorOf = (op: TfliteOperator, i: number): TfliteTensor => {
    const ti = op.inputs[i];
    if (ti === undefined || ti < 0) throw new ModelError(`${where(op)}: input ${i} is missing`);
    return m.tensors[ti];
  };
  const qparams = (t: TfliteTensor, op: TfliteOperator): QParams => {
    const q = t.quantization;
    if (!q || q.scale.length !== 1)
      throw new ModelError(
        `${where(op)}: tensor '${t.name}' needs one scale and zero point, has ${q?.scale.length ?? 0}`,
      );
    return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] ?? 0 };
  };
  const requireInt8 = (t: TfliteTensor, op: TfliteOperator) => {
    if (t.type !== TensorType.INT8)
      throw new ModelError(
        `${where(op)}: tensor '${t.name}' is ${typeName(t.type)}; Morsel imports int8 TFLite models (float models: tfliteToGraph)`,
      );
  };
  /** The QTensor index for an int8 activation or constant, created on first use. */
  const q8 = (tfIndex: number, op: TfliteOperator): number => {
    const ti = resolve(tfIndex);
    const known = index.get(ti);
    if (known !== undefined) return known;
    const t = m.tensors[ti];
    requireInt8(t, op);
    const q = t.quantization;
    if (!q) throw new ModelError(`${where(op)}: int8 tensor '${t.name}' has no quantization parameters`);
    tensors.push({
      name: t.name,
      shape: t.shape.slice(),
      type: 'int8',
      scale: q.scale.slice(),
      zeroPoint: q.zeroPoint.length ? q.zeroPoint.slice() : q.scale.map(() => 0),
      quantizedDimension: q.quantizedDimension,
      arenaOffset: -1,
      ...(t.data
        ? { data: new Int8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.length)) }
        : {}),
    });
    index.set(ti, tensors.length - 1);
    return tensors.length - 1;
  };
  const constInts = (op: TfliteOperator, i: number): number[] => {
    const t = tensorOf(op, i);
    if (!t.data || t.type !== TensorType.INT32)
      throw new ModelError(`${where(op)}: input ${i} ('${t.name}') must be a constant int32 tensor`);
    return Array.from(int32Of(t.data));
  };
  const push = (op: TfliteOperator, q: Omit<QOp, 'name' | 'outputs'> & { outputs?: number[] }) => {
    ops.push({ ...q, outputs: q.outputs ?? [q8(op.outputs[0], op)], name: m.tensors[op.outputs[0]].name } as QOp);
  };

  /** Weights (symmetric, per channel along `channelAxis` or per tensor) and the bias with the input zero point folded in. */
  const weightsAndBias = (op: TfliteOperator, channelAxis: number, inZp: number, xInput = 0, biasInput = 2) => {
    const wt = tensorOf(op, 1);
    requireInt8(wt, op);
    if (!wt.data) throw new ModelError(`${where(op)}: weights '${wt.name}' must be constant`);
    const wq = wt.quantization;
    if (!wq) throw new ModelError(`${where(op)}: weights '${wt.name}' are not quantized`);
    if (wq.zeroPoint.some((z) => z !== 0))
      throw new ModelError(`${where(op)}: weights '${wt.name}' must be symmetric (zero point 0)`);
    const channels = wt.shape[channelAxis];
    if (wq.scale.length !== 1 && (wq.scale.length !== channels || wq.quantizedDimension !== channelAxis)) {
      throw new ModelError(
        `${where(op)}: weights '${wt.name}' have ${wq.scale.length} scales along dimension ${wq.quantizedDimension}; expected 1 or ${channels} along ${channelAxis}`,
      );
    }
    const w = q8(op.inputs[1], op);
    const bi = op.inputs[biasInput];
    const bt = bi !== undefined && bi >= 0 ? m.tensors[bi] : undefined;
    if (bt && (bt.type !== TensorType.INT32 || !bt.data))
      throw new ModelError(`${where(op)}: bias '${bt.name}' must be a constant int32 tensor`);
    const folded = foldInputZeroPoint(
      tensors[w].data as Int8Array,
      wt.shape,
      channelAxis,
      bt ? int32Of(bt.data!) : undefined,
      inZp,
    );
    const inScale = qparams(tensorOf(op, xInput), op).scale;
    tensors.push({
      name: bt?.name ?? `${m.tensors[op.outputs[0]].name}/bias`,
      shape: [channels],
      type: 'int32',
      scale: bt?.quantization?.scale.slice() ?? wq.scale.map((s) => Math.fround(inScale * s)),
      zeroPoint: bt?.quantization?.zeroPoint.slice() ?? wq.scale.map(() => 0),
      quantizedDimension: 0,
      data: folded,
      arenaOffset: -1,
    });
    return { w, b: tensors.length - 1, scales: wq.scale };
  };

  /** Input and output of a data-moving op must share their quantization. */
  const sameQuantization = (op: TfliteOperator) => {
    const [xq, yq] = [qparams(tensorOf(op, 0), op), qparams(m.tensors[op.outputs[0]], op)];
    if (xq.scale !== yq.scale || xq.zeroPoint !== yq.zeroPoint)
      throw new ModelError(`${where(op)}: input and output quantization differ`);
  };
  /** MEAN, SUM or REDUCE_MAX over adjacent constant axes: one REDUCE over [outer, count, inner]. */
  const reduce = (op: TfliteOperator) => {
    const geometry = reduceGeometry(where(op), tensorOf(op, 0).shape, constInts(op, 1));
    const code = op.builtinCode;
    if (code === B.REDUCE_MAX) sameQuantization(op);
    const reducer = code === B.MEAN ? 'mean' : code === B.SUM ? 'sum' : 'max';
    const [xq, yq] = [qparams(tensorOf(op, 0), op), qparams(m.tensors[op.outputs[0]], op)];
    push(op, {
      opcode: 'REDUCE',
      inputs: [q8(op.inputs[0], op)],
      options: prepareReduce(reducer, geometry, xq, yq, rounding),
    });
  };

  for (const op of m.operators) {
    const code = op.builtinCode;
    const o = op.options;
    const x = () => tensorOf(op, 0);
    const y = () => m.tensors[op.outputs[0]];
    const clamp = () => fusedClamp(op, o.fused_activation_function as number | undefined);
    switch (code) {
      case B.QUANTIZE: {
        if (isFloat(x())) {
          if (!m.inputs.includes(op.inputs[0]))
            throw new ModelError(`${where(op)}: float → int8 QUANTIZE is only supported on a model input`);
          alias.set(op.inputs[0], op.outputs[0]);
          continue;
        }
        push(op, {
          opcode: 'QUANTIZE',
          inputs: [q8(op.inputs[0], op)],
          options: prepareQuantize(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      }
      case B.DEQUANTIZE: {
        if (!m.outputs.includes(op.outputs[0]))
          throw new ModelError(`${where(op)}: DEQUANTIZE is only supported on a model output`);
        alias.set(op.outputs[0], resolve(op.inputs[0]));
        continue;
      }
      case B.CONV_2D:
      case B.DEPTHWISE_CONV_2D: {
        const dw = code === B.DEPTHWISE_CONV_2D;
        const xq = qparams(x(), op);
        const { w, b, scales } = weightsAndBias(op, dw ? 3 : 0, xq.zeroPoint);
        const ws = tensors[w].shape;
        const inC = x().shape[3];
        const outC = y().shape[3];
        if (dw ? outC % inC !== 0 || ws[3] !== outC : ws[3] !== inC || ws[0] !== outC) {
          throw new ModelError(
            `${where(op)}: weights [${ws}] do not fit input [${x().shape}] and output [${y().shape}]`,
          );
        }
        const geometry = windowGeometry(
          o.padding as number,
          x().shape,
          [ws[1], ws[2]],
          [o.stride_h as number, o.stride_w as number],
          [o.dilation_h_factor as number, o.dilation_w_factor as number],
          y().shape,
          where(op),
        );
        const options = prepareConv2D(
          { ...geometry, depth_multiplier: dw ? outC / inC : 1 },
          xq,
          scales,
          qparams(y(), op),
          clamp(),
          rounding,
        );
        push(op, { opcode: dw ? 'DEPTHWISE_CONV_2D' : 'CONV_2D', inputs: [q8(op.inputs[0], op), w, b], options });
        break;
      }
      case B.TRANSPOSE_CONV: {
        // Inputs: output shape, weights [oc, kh, kw, ic], input, optional bias.
        const xt = tensorOf(op, 2);
        const xq = qparams(xt, op);
        const { w, b, scales } = weightsAndBias(op, 0, xq.zeroPoint, 2, 3);
        const ws = tensors[w].shape;
        if (ws[0] !== y().shape[3] || ws[3] !== xt.shape[3] || constInts(op, 0).join() !== y().shape.join())
          throw new ModelError(
            `${where(op)}: weights [${ws}] and output shape do not fit [${xt.shape}] to [${y().shape}]`,
          );
        const stride = [o.stride_h as number, o.stride_w as number];
        const [pad_top, pad_left] = transposeConvPads(o.padding as number, y().shape, [ws[1], ws[2]], stride);
        const geometry = { stride_h: stride[0], stride_w: stride[1], dilation_h: 1, dilation_w: 1, pad_top, pad_left };
        const options = prepareConv2D(
          { ...geometry, depth_multiplier: 1 },
          xq,
          scales,
          qparams(y(), op),
          clamp(),
          rounding,
        );
        push(op, { opcode: 'TRANSPOSE_CONV', inputs: [q8(op.inputs[2], op), w, b], options });
        break;
      }
      case B.FULLY_CONNECTED: {
        if (o.weights_format !== 0)
          throw new ModelError(`${where(op)}: shuffled weights format ${o.weights_format} is not supported`);
        const xq = qparams(x(), op);
        const { w, b, scales } = weightsAndBias(op, 0, xq.zeroPoint);
        const depth = tensors[w].shape[1];
        if (numel(x().shape) % depth !== 0)
          throw new ModelError(`${where(op)}: input [${x().shape}] is not a multiple of the weights' depth ${depth}`);
        push(op, {
          opcode: 'FULLY_CONNECTED',
          inputs: [q8(op.inputs[0], op), w, b],
          options: prepareFullyConnected(xq, scales, qparams(y(), op), clamp(), rounding),
        });
        break;
      }
      case B.AVERAGE_POOL_2D:
      case B.MAX_POOL_2D: {
        const xq = qparams(x(), op);
        const yq = qparams(y(), op);
        if (xq.scale !== yq.scale || xq.zeroPoint !== yq.zeroPoint)
          throw new ModelError(`${where(op)}: input and output quantization differ`);
        const g = windowGeometry(
          o.padding as number,
          x().shape,
          [o.filter_height as number, o.filter_width as number],
          [o.stride_h as number, o.stride_w as number],
          [1, 1],
          y().shape,
          where(op),
        );
        const options = preparePool2D(
          {
            filter_h: o.filter_height as number,
            filter_w: o.filter_width as number,
            stride_h: g.stride_h,
            stride_w: g.stride_w,
            pad_top: g.pad_top,
            pad_left: g.pad_left,
          },
          yq,
          clamp(),
        );
        push(op, {
          opcode: code === B.MAX_POOL_2D ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
          inputs: [q8(op.inputs[0], op)],
          options,
        });
        break;
      }
      case B.RESHAPE: {
        const xq = qparams(x(), op);
        const yq = qparams(y(), op);
        if (xq.scale !== yq.scale || xq.zeroPoint !== yq.zeroPoint)
          throw new ModelError(`${where(op)}: input and output quantization differ`);
        if (numel(x().shape) !== numel(y().shape))
          throw new ModelError(`${where(op)}: reshape from [${x().shape}] to [${y().shape}] changes the element count`);
        push(op, { opcode: 'RESHAPE', inputs: [q8(op.inputs[0], op)], options: null });
        break;
      }
      case B.LOG_SOFTMAX:
        push(op, {
          opcode: 'LOG_SOFTMAX',
          inputs: [q8(op.inputs[0], op)],
          options: prepareLogSoftmax(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      case B.SOFTMAX:
        push(op, {
          opcode: 'SOFTMAX',
          inputs: [q8(op.inputs[0], op)],
          options: prepareSoftmax(qparams(x(), op), o.beta as number, qparams(y(), op), rounding),
        });
        break;
      case B.ADD:
      case B.SUB:
      case B.MUL: {
        const a = qparams(x(), op);
        const bq = qparams(tensorOf(op, 1), op);
        const yq = qparams(y(), op);
        const inputs = [q8(op.inputs[0], op), q8(op.inputs[1], op)];
        if (code === B.MUL) push(op, { opcode: 'MUL', inputs, options: prepareMul(a, bq, yq, clamp(), rounding) });
        else if (code === B.ADD) push(op, { opcode: 'ADD', inputs, options: prepareAdd(a, bq, yq, clamp(), rounding) });
        else push(op, { opcode: 'SUB', inputs, options: prepareSub(a, bq, yq, clamp(), rounding) });
        break;
      }
      case B.PRELU:
        push(op, {
          opcode: 'PRELU',
          inputs: [q8(op.inputs[0], op), q8(op.inputs[1], op)],
          options: preparePrelu(qparams(x(), op), qparams(tensorOf(op, 1), op), qparams(y(), op), rounding),
        });
        break;
      case B.MAXIMUM:
      case B.MINIMUM:
        push(op, {
          opcode: code === B.MAXIMUM ? 'MAXIMUM' : 'MINIMUM',
          inputs: [q8(op.inputs[0], op), q8(op.inputs[1], op)],
          options: null,
        });
        break;
      case B.LOGISTIC:
        push(op, {
          opcode: 'LOGISTIC',
          inputs: [q8(op.inputs[0], op)],
          options: prepareLogistic(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      case B.TANH:
        push(op, {
          opcode: 'TANH',
          inputs: [q8(op.inputs[0], op)],
          options: prepareTanh(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      case B.RELU:
      case B.RELU6:
        push(op, {
          opcode: 'QUANTIZE',
          inputs: [q8(op.inputs[0], op)],
          options: prepareRelu(
            qparams(x(), op),
            qparams(y(), op),
            { min: 0, max: code === B.RELU6 ? 6 : Infinity },
            kernelRounding(mode, 'RELU'),
          ),
        });
        break;
      case B.HARD_SWISH:
        push(op, {
          opcode: 'HARD_SWISH',
          inputs: [q8(op.inputs[0], op)],
          options: prepareHardSwish(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      case B.ELU:
      case B.EXP:
      case B.GELU: {
        const table = code === B.ELU ? 'ELU' : code === B.EXP ? 'EXP' : o.approximate ? 'GELU_TANH' : 'GELU';
        push(op, {
          opcode: code === B.ELU ? 'ELU' : code === B.EXP ? 'EXP' : 'GELU',
          inputs: [q8(op.inputs[0], op)],
          options: prepareLookupTable(qparams(x(), op), qparams(y(), op), TFLITE_TABLE_FNS[table]),
        });
        break;
      }
      case B.LEAKY_RELU:
        push(op, {
          opcode: 'LEAKY_RELU',
          inputs: [q8(op.inputs[0], op)],
          options: prepareLeakyRelu(qparams(x(), op), qparams(y(), op), o.alpha as number, rounding),
        });
        break;
      case B.CONCATENATION: {
        const yq = qparams(y(), op);
        clamp();
        if (o.fused_activation_function)
          throw new ModelError(`${where(op)}: a fused activation on CONCATENATION is not supported`);
        const ins = op.inputs.map((ti) => {
          const q = qparams(m.tensors[ti], op);
          if (q.scale !== yq.scale || q.zeroPoint !== yq.zeroPoint)
            throw new ModelError(
              `${where(op)}: input '${m.tensors[ti].name}' is quantized differently from the output`,
            );
          return q8(ti, op);
        });
        const rank = y().shape.length;
        const axis = (o.axis as number) < 0 ? (o.axis as number) + rank : (o.axis as number);
        push(op, { opcode: 'CONCATENATION', inputs: ins, options: { axis } });
        break;
      }
      case B.PAD: {
        const paddings = constInts(op, 1);
        if (paddings.length !== 2 * x().shape.length)
          throw new ModelError(
            `${where(op)}: paddings have ${paddings.length} values for a rank-${x().shape.length} input`,
          );
        push(op, { opcode: 'PAD', inputs: [q8(op.inputs[0], op)], options: preparePad(paddings, qparams(y(), op)) });
        break;
      }
      case B.RESIZE_BILINEAR: {
        const [align, half] = [o.align_corners === true, o.half_pixel_centers === true];
        const [xs, ys] = [x().shape, y().shape];
        const options = {
          rows: tfliteBilinearTaps(xs[1], ys[1], align, half),
          cols: tfliteBilinearTaps(xs[2], ys[2], align, half),
          align_corners: align ? 1 : 0,
          half_pixel_centers: half ? 1 : 0,
        };
        push(op, { opcode: 'RESIZE_BILINEAR', inputs: [q8(op.inputs[0], op)], options });
        break;
      }
      case B.RESIZE_NEAREST_NEIGHBOR: {
        const [align, half] = [op.options.align_corners === true, op.options.half_pixel_centers === true];
        const options = {
          ...tfliteNearestMaps(x().shape, y().shape, align, half),
          align_corners: align ? 1 : 0,
          half_pixel_centers: half ? 1 : 0,
        };
        push(op, { opcode: 'RESIZE_NEAREST_NEIGHBOR', inputs: [q8(op.inputs[0], op)], options });
        break;
      }
      case B.MIRROR_PAD: {
        const paddings = constInts(op, 1);
        if (paddings.length !== 2 * x().shape.length)
          throw new ModelError(
            `${where(op)}: paddings have ${paddings.length} values for a rank-${x().shape.length} input`,
          );
        // REFLECT 0 and SYMMETRIC 1, as MirrorPadOptions.mode; the output keeps the input's quantization.
        const mode = op.options.mode as number;
        if (mode !== 0 && mode !== 1) throw new ModelError(`${where(op)}: unknown MIRROR_PAD mode ${mode}`);
        push(op, { opcode: 'MIRROR_PAD', inputs: [q8(op.inputs[0], op)], options: { paddings, mode } });
        break;
      }
      case B.MEAN: {
        const axes = constInts(op, 1)
          .map((a) => (a < 0 ? a + x().shape.length : a))
          .sort();
        if (x().shape.length !== 4 || axes.join() !== '1,2') {
          reduce(op);
          break;
        }
        push(op, {
          opcode: 'MEAN',
          inputs: [q8(op.inputs[0], op)],
          options: prepareMean(qparams(x(), op), qparams(y(), op), rounding),
        });
        break;
      }
      case B.GATHER: {
        // Constant indices into an activation: a strided view when they are evenly spaced along each axis.
        const axis = (o.axis as number) < 0 ? (o.axis as number) + x().shape.length : (o.axis as number);
        if (o.batch_dims) throw new ModelError(`${where(op)}: GATHER with batch_dims ${o.batch_dims} is not supported`);
        sameQuantization(op);
        const options = gatherView(where(op), x().shape, axis, constInts(op, 1), y().shape);
        push(op, { opcode: 'GATHER_STRIDED', inputs: [q8(op.inputs[0], op)], options });
        break;
      }
      case B.SUM:
      case B.REDUCE_MAX:
        reduce(op);
        break;
      case B.BATCH_MATMUL: {
        const geometry = batchMatMulGeometry(
          where(op),
          x().shape,
          tensorOf(op, 1).shape,
          o.adj_x === true || o.adj_y === true,
        );
        push(op, {
          opcode: 'BATCH_MATMUL',
          inputs: [q8(op.inputs[0], op), q8(op.inputs[1], op)],
          options: prepareBatchMatMul(
            geometry,
            qparams(x(), op),
            qparams(tensorOf(op, 1), op),
            qparams(y(), op),
            undefined,
            rounding,
          ),
        });
        break;
      }
      case B.UNIDIRECTIONAL_SEQUENCE_LSTM:
        throw new ModelError(
          `${where(op)}: an int8 (quantized) LSTM is not supported; import the float model, which Morsel unrolls and quantizes itself`,
        );
      default:
        throw new ModelError(
          `${where(op)} is not supported; Morsel imports these TFLite ops: ${SUPPORTED_INT8_OPS.join(', ')}`,
        );
    }
  }
  const ioTensor = (ti: number, what: string) => {
    const i = index.get(resolve(ti));
    if (i === undefined)
      throw new ModelError(`model ${what} '${m.tensors[ti].name}' is not read or computed by any supported op`);
    return i;
  };
  return {
    name: opts.name ?? (m.subgraphName || 'tflite'),
    producer: `morsel (TFLite import${m.description ? `: ${m.description}` : ''})`,
    rounding: mode,
    tensors,
    ops,
    inputs: m.inputs.map((t) => ioTensor(t, 'input')),
    outputs: m.outputs.map((t) => ioTensor(t, 'output')),
    arenaBytes: 0,
  };
}

/** Little-endian int32 values of a buffer (copied: TFLite buffers need not be 4-aligned in our slice). */
export function int32Of(bytes: Uint8Array): Int32Array {
  return new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function typeName(type: number): string {
  return (Object.keys(TensorType) as (keyof typeof TensorType)[]).find((k) => TensorType[k] === type) ?? `type ${type}`;
}
