// QModel → .tflite (schema version 3, one subgraph, builtin ops only), so that a model Morsel imported, quantized
// or compressed runs in stock TFLite / TFLite Micro. Option tables hold derived values (multipliers, folded
// biases, tables); the TFLite op is recovered from them and checked: each recovered op's TFLM Prepare must
// reproduce the option table exactly, so the exported model computes the same bytes in TFLM.

import { Builder } from 'flatbuffers';
import { type Clamp, ModelError } from '../ir/graph';
import type { QModel, QOp, QTensor } from '../ir/qmodel';
import { elementsPerChannel, numel, sameArray, windowAxis } from '../ir/shape';
import { tflitePadding, transposeConvPads } from '../import/tflite/padding';
import { stridedIndices } from '../import/tflite/strided';
import {
  ActivationFunction,
  BuiltinOperator,
  BuiltinOptions,
  Field,
  Padding,
  TensorType,
  TFLITE_IDENTIFIER,
  TFLITE_SCHEMA_VERSION,
} from '../import/tflite/schema';
import {
  activationRange,
  prepareHardSwish,
  prepareLeakyRelu,
  prepareLookupTable,
  preparePrelu,
  prepareBatchMatMul,
  prepareReduce,
  TFLITE_TABLE_FNS,
  prepareLogistic,
  prepareQuantize,
  prepareRelu,
  prepareSoftmax,
  prepareLogSoftmax,
  prepareTanh,
  type QParams,
} from '../quantize/prepare';
import { kernelRounding, prepareRounding } from '../quantize/fixedpoint';

/** A tensor of a .tflite being written (writeTflite). */
export interface OutTensor {
  name: string;
  shape: number[];
  type: number;
  data?: Uint8Array;
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
  /** A state tensor TFLite keeps between invocations (an LSTM's hidden and cell state). */
  variable?: boolean;
}
type OptionField = [id: number, kind: 'i8' | 'i32' | 'f32' | 'bool', value: number];
/** An operator of a .tflite being written: its builtin code, tensor indices and option table fields. */
export interface OutOp {
  builtin: number;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  options: OptionField[];
}

const FUSED: [code: number, clamp: Clamp | undefined][] = [
  [ActivationFunction.NONE, undefined],
  [ActivationFunction.RELU, { min: 0, max: Infinity }],
  [ActivationFunction.RELU6, { min: 0, max: 6 }],
  [ActivationFunction.RELU_N1_TO_1, { min: -1, max: 1 }],
];

/** The op version the TFLite converter writes for the int8 form of each op (tensorflow/lite/tools/versioning). */
const INT8_OP_VERSION: Record<number, number> = {
  [BuiltinOperator.CONV_2D]: 3,
  [BuiltinOperator.DEPTHWISE_CONV_2D]: 3,
  [BuiltinOperator.FULLY_CONNECTED]: 4,
  [BuiltinOperator.AVERAGE_POOL_2D]: 2,
  [BuiltinOperator.MAX_POOL_2D]: 2,
  [BuiltinOperator.ADD]: 2,
  [BuiltinOperator.SUB]: 2,
  [BuiltinOperator.MUL]: 2,
  [BuiltinOperator.RESHAPE]: 1,
  [BuiltinOperator.SOFTMAX]: 2,
  [BuiltinOperator.LOG_SOFTMAX]: 2,
  [BuiltinOperator.LOGISTIC]: 2,
  [BuiltinOperator.TANH]: 2,
  [BuiltinOperator.CONCATENATION]: 2,
  [BuiltinOperator.PAD]: 2,
  [BuiltinOperator.MEAN]: 2,
  [BuiltinOperator.QUANTIZE]: 2,
  [BuiltinOperator.RELU]: 2,
  [BuiltinOperator.RELU6]: 2,
  [BuiltinOperator.LEAKY_RELU]: 2,
  [BuiltinOperator.HARD_SWISH]: 1,
  [BuiltinOperator.MIRROR_PAD]: 2,
  [BuiltinOperator.ELU]: 1,
  [BuiltinOperator.EXP]: 2,
  [BuiltinOperator.GELU]: 1,
  [BuiltinOperator.PRELU]: 1,
  [BuiltinOperator.MAXIMUM]: 2,
  [BuiltinOperator.MINIMUM]: 2,
  [BuiltinOperator.RESIZE_NEAREST_NEIGHBOR]: 3,
  // int8 with a bias input (op_version.cc); version 4 adds the fused activation, which the export refuses.
  [BuiltinOperator.TRANSPOSE_CONV]: 3,
  // int8 with half_pixel_centers (op_version.cc).
  [BuiltinOperator.RESIZE_BILINEAR]: 3,
  [BuiltinOperator.GATHER]: 2,
  [BuiltinOperator.SUM]: 2,
  [BuiltinOperator.REDUCE_MAX]: 2,
  [BuiltinOperator.BATCH_MATMUL]: 1,
};

const bytesOfArray = (d: Int8Array | Int32Array) =>
  new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));

export function exportTflite(model: QModel): Uint8Array {
  return buildTflite(model, false).bytes;
}

/**
 * The same model with the weights and biases of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED turned into extra
 * subgraph inputs (after the model's own), fed with `weights` at inference. For differential testing against full
 * TFLite: its XNNPACK delegate takes over those ops only when their weights are constant, and requantizes in
 * float32; with fed weights TFLite runs its own builtin kernels.
 */
export function exportTfliteWeightsAsInputs(model: QModel): { bytes: Uint8Array; weights: Uint8Array[] } {
  return buildTflite(model, true);
}

function buildTflite(model: QModel, weightsAsInputs: boolean): { bytes: Uint8Array; weights: Uint8Array[] } {
  const out: OutTensor[] = model.tensors.map((t) => ({
    name: t.name,
    shape: t.shape.slice(),
    type: t.type === 'int32' ? TensorType.INT32 : TensorType.INT8,
    ...(t.data ? { data: bytesOfArray(t.data) } : {}),
    scale: t.scale.slice(),
    zeroPoint: t.zeroPoint.slice(),
    quantizedDimension: t.quantizedDimension,
  }));
  const addConstInts = (name: string, values: number[], shape = [values.length]) => {
    out.push({
      name,
      shape,
      type: TensorType.INT32,
      data: bytesOfArray(Int32Array.from(values)),
      scale: [],
      zeroPoint: [],
      quantizedDimension: 0,
    });
    return out.length - 1;
  };
  const q = (ti: number): QParams => ({ scale: model.tensors[ti].scale[0], zeroPoint: model.tensors[ti].zeroPoint[0] });
  const fail = (op: QOp, why: string): never => {
    throw new ModelError(`cannot export ${op.opcode} '${op.name}' to TFLite: ${why}`);
  };

  const fusedActivation = (op: QOp, output: QParams, min: number, max: number): number => {
    for (const [code, clamp] of FUSED) {
      const r = activationRange(output, clamp);
      if (r.activation_min === min && r.activation_max === max) return code;
    }
    return fail(op, `clamp [${min}, ${max}] is not a TFLite fused activation`);
  };

  const unfolded = new Map<number, Uint8Array>();
  /** TFLite stores the bias without the input zero point folded in: b = b' + zp_in·Σw (a new tensor if shared differently). */
  const unfoldedBias = (op: QOp, inputZeroPoint: number, channelAxis: number): number => {
    const w = model.tensors[op.inputs[1]];
    const b = model.tensors[op.inputs[2]];
    const folded = b.data as Int32Array;
    const channels = w.shape[channelAxis];
    const inner = elementsPerChannel(w.shape, channelAxis);
    const sums = new Float64Array(channels);
    (w.data as Int8Array).forEach((v, i) => (sums[Math.floor(i / inner) % channels] += v));
    const bias = bytesOfArray(Int32Array.from(folded, (v, c) => v + inputZeroPoint * sums[c]));
    const previous = unfolded.get(op.inputs[2]);
    if (!previous) {
      unfolded.set(op.inputs[2], bias);
      out[op.inputs[2]].data = bias;
      return op.inputs[2];
    }
    if (sameArray(previous, bias)) return op.inputs[2];
    out.push({ ...out[op.inputs[2]], data: bias });
    return out.length - 1;
  };

  const paddingOf = (
    op: QOp,
    x: QTensor,
    y: QTensor,
    filter: [number, number],
    stride: [number, number],
    dilation: [number, number],
    pads: [number, number],
  ): number => {
    for (const p of [Padding.VALID, Padding.SAME]) {
      const fits = [0, 1].every((d) => {
        const axis = windowAxis(tflitePadding(p), x.shape[1 + d], filter[d], stride[d], dilation[d]);
        return axis.out === y.shape[1 + d] && axis.before === pads[d];
      });
      if (fits) return p;
    }
    return fail(op, `padding (top ${pads[0]}, left ${pads[1]}) is neither SAME nor VALID`);
  };

  /** A new activation tensor quantized as `like`, for the RESHAPEs an op needs around it. */
  const addActivation = (name: string, shape: number[], like: number) => {
    const { data: _, ...t } = out[like];
    out.push({ ...t, name, shape });
    return out.length - 1;
  };
  const reshape = (name: string, from: number, to: number): OutOp => ({
    builtin: BuiltinOperator.RESHAPE,
    inputs: [from, addConstInts(`${name}/shape`, out[to].shape)],
    outputs: [to],
    optionsType: 0,
    options: [],
  });
  /** `ti` viewed as `shape`: itself when it has that shape, else the output of a RESHAPE appended to `before`. */
  const viewAs = (before: OutOp[], name: string, ti: number, shape: number[]) => {
    if (sameArray(out[ti].shape, shape)) return ti;
    const view = addActivation(name, shape, ti);
    before.push(reshape(name, ti, view));
    return view;
  };
  /** `core` computes `shape`; the op's output `yi` is its output, or a RESHAPE of it when the shapes differ. */
  const producing = (name: string, yi: number, shape: number[], core: Omit<OutOp, 'outputs'>): OutOp[] => {
    if (sameArray(out[yi].shape, shape)) return [{ ...core, outputs: [yi] }];
    const inner = addActivation(name, shape, yi);
    return [{ ...core, outputs: [inner] }, reshape(`${name}/reshape`, inner, yi)];
  };
  const sameOptions = (op: QOp, prepared: object) => {
    if (JSON.stringify(prepared) !== JSON.stringify(op.options))
      fail(op, `its options are not TFLite's int8 ${op.opcode} for its scales`);
  };

  const ops: OutOp[] = model.ops.flatMap((op): OutOp | OutOp[] => {
    const [xi] = op.inputs;
    const yi = op.outputs[0];
    const x = model.tensors[xi];
    const y = model.tensors[yi];
    const base = { inputs: op.inputs.slice(), outputs: op.outputs.slice() };
    switch (op.opcode) {
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const o = op.options;
        const w = model.tensors[op.inputs[1]];
        const dw = op.opcode === 'DEPTHWISE_CONV_2D';
        const padding = paddingOf(
          op,
          x,
          y,
          [w.shape[1], w.shape[2]],
          [o.stride_h, o.stride_w],
          [o.dilation_h, o.dilation_w],
          [o.pad_top, o.pad_left],
        );
        const act = fusedActivation(op, q(yi), o.activation_min, o.activation_max);
        const inputs = [xi, op.inputs[1], unfoldedBias(op, o.input_zero_point, dw ? 3 : 0)];
        if (dw) {
          const F = Field.DepthwiseConv2DOptions;
          return {
            ...base,
            inputs,
            builtin: BuiltinOperator.DEPTHWISE_CONV_2D,
            optionsType: BuiltinOptions.DepthwiseConv2DOptions,
            options: [
              [F.padding, 'i8', padding],
              [F.stride_w, 'i32', o.stride_w],
              [F.stride_h, 'i32', o.stride_h],
              [F.depth_multiplier, 'i32', o.depth_multiplier],
              [F.fused_activation_function, 'i8', act],
              [F.dilation_w_factor, 'i32', o.dilation_w],
              [F.dilation_h_factor, 'i32', o.dilation_h],
            ],
          };
        }
        const F = Field.Conv2DOptions;
        return {
          ...base,
          inputs,
          builtin: BuiltinOperator.CONV_2D,
          optionsType: BuiltinOptions.Conv2DOptions,
          options: [
            [F.padding, 'i8', padding],
            [F.stride_w, 'i32', o.stride_w],
            [F.stride_h, 'i32', o.stride_h],
            [F.fused_activation_function, 'i8', act],
            [F.dilation_w_factor, 'i32', o.dilation_w],
            [F.dilation_h_factor, 'i32', o.dilation_h],
          ],
        };
      }
      case 'TRANSPOSE_CONV': {
        // TFLite's TRANSPOSE_CONV takes the output shape and computes its padding as a convolution's from the
        // output back to the input (SAME or VALID, no dilation); its filter is ours, [oc, kh, kw, ic].
        const o = op.options;
        const w = model.tensors[op.inputs[1]];
        if (o.dilation_h !== 1 || o.dilation_w !== 1) fail(op, `TFLite has no dilated TRANSPOSE_CONV`);
        const padding = [Padding.VALID, Padding.SAME].find((p) =>
          sameArray(transposeConvPads(p, y.shape, [w.shape[1], w.shape[2]], [o.stride_h, o.stride_w]), [
            o.pad_top,
            o.pad_left,
          ]),
        );
        if (padding === undefined)
          return fail(op, `padding (top ${o.pad_top}, left ${o.pad_left}) is neither TFLite's SAME nor VALID`);
        if (fusedActivation(op, q(yi), o.activation_min, o.activation_max) !== ActivationFunction.NONE)
          fail(op, 'a fused activation needs TRANSPOSE_CONV version 4');
        const F = Field.TransposeConvOptions;
        return {
          ...base,
          inputs: [
            addConstInts(`${op.name}/output_shape`, y.shape),
            op.inputs[1],
            xi,
            unfoldedBias(op, o.input_zero_point, 0),
          ],
          builtin: BuiltinOperator.TRANSPOSE_CONV,
          optionsType: BuiltinOptions.TransposeConvOptions,
          options: [
            [F.padding, 'i8', padding],
            [F.stride_w, 'i32', o.stride_w],
            [F.stride_h, 'i32', o.stride_h],
          ],
        };
      }
      case 'FULLY_CONNECTED': {
        const o = op.options;
        const F = Field.FullyConnectedOptions;
        const act = fusedActivation(op, q(yi), o.activation_min, o.activation_max);
        return {
          ...base,
          inputs: [xi, op.inputs[1], unfoldedBias(op, q(xi).zeroPoint, 0)],
          builtin: BuiltinOperator.FULLY_CONNECTED,
          optionsType: BuiltinOptions.FullyConnectedOptions,
          options: [
            [F.fused_activation_function, 'i8', act],
            [F.keep_num_dims, 'bool', y.shape.length > 2 ? 1 : 0],
          ],
        };
      }
      case 'MAX_POOL_2D':
      case 'AVERAGE_POOL_2D': {
        const o = op.options;
        const F = Field.Pool2DOptions;
        const padding = paddingOf(
          op,
          x,
          y,
          [o.filter_h, o.filter_w],
          [o.stride_h, o.stride_w],
          [1, 1],
          [o.pad_top, o.pad_left],
        );
        const act = fusedActivation(op, q(yi), o.activation_min, o.activation_max);
        return {
          ...base,
          builtin: op.opcode === 'MAX_POOL_2D' ? BuiltinOperator.MAX_POOL_2D : BuiltinOperator.AVERAGE_POOL_2D,
          optionsType: BuiltinOptions.Pool2DOptions,
          options: [
            [F.padding, 'i8', padding],
            [F.stride_w, 'i32', o.stride_w],
            [F.stride_h, 'i32', o.stride_h],
            [F.filter_width, 'i32', o.filter_w],
            [F.filter_height, 'i32', o.filter_h],
            [F.fused_activation_function, 'i8', act],
          ],
        };
      }
      case 'ADD':
      case 'SUB':
      case 'MUL': {
        const act = fusedActivation(op, q(yi), op.options.activation_min, op.options.activation_max);
        const [builtin, optionsType] =
          op.opcode === 'ADD'
            ? [BuiltinOperator.ADD, BuiltinOptions.AddOptions]
            : op.opcode === 'SUB'
              ? [BuiltinOperator.SUB, BuiltinOptions.SubOptions]
              : [BuiltinOperator.MUL, BuiltinOptions.MulOptions];
        return { ...base, builtin, optionsType, options: [[0, 'i8', act]] };
      }
      case 'RESHAPE':
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/shape`, y.shape)],
          builtin: BuiltinOperator.RESHAPE,
          optionsType: 0,
          options: [],
        };
      case 'SOFTMAX': {
        const beta = softmaxBeta(model, op, q(xi), q(yi));
        return {
          ...base,
          builtin: BuiltinOperator.SOFTMAX,
          optionsType: BuiltinOptions.SoftmaxOptions,
          options: [[Field.SoftmaxOptions.beta, 'f32', beta]],
        };
      }
      case 'LOG_SOFTMAX':
        // TFLite's LOG_SOFTMAX has no options: its kernel derives everything from the input scale.
        if (
          JSON.stringify(prepareLogSoftmax(q(xi), q(yi), prepareRounding(model.rounding))) !==
          JSON.stringify(op.options)
        )
          fail(op, "its tables are not TFLM's int8 LOG_SOFTMAX for its input scale");
        return { ...base, builtin: BuiltinOperator.LOG_SOFTMAX, optionsType: 0, options: [] };
      case 'LOGISTIC':
      case 'TANH': {
        const prepare = op.opcode === 'LOGISTIC' ? prepareLogistic : prepareTanh;
        if (!sameArray(prepare(q(xi), q(yi), prepareRounding(model.rounding)).table, op.options.table))
          fail(op, `its table is not TFLite's int8 ${op.opcode}`);
        return {
          ...base,
          builtin: op.opcode === 'LOGISTIC' ? BuiltinOperator.LOGISTIC : BuiltinOperator.TANH,
          optionsType: 0,
          options: [],
        };
      }
      case 'QUANTIZE': {
        // A requantization table is TFLite's QUANTIZE; a clamped one is RELU/RELU6 (both prepared like TFLM).
        if (sameArray(prepareQuantize(q(xi), q(yi), prepareRounding(model.rounding)).table, op.options.table)) {
          return { ...base, builtin: BuiltinOperator.QUANTIZE, optionsType: 0, options: [] };
        }
        for (const [builtin, clamp] of [
          [BuiltinOperator.RELU, { min: 0, max: Infinity }],
          [BuiltinOperator.RELU6, { min: 0, max: 6 }],
        ] as const) {
          if (
            sameArray(prepareRelu(q(xi), q(yi), clamp, kernelRounding(model.rounding, 'RELU')).table, op.options.table)
          )
            return { ...base, builtin, optionsType: 0, options: [] };
        }
        return fail(op, 'its table is neither a requantization nor a RELU/RELU6');
      }
      case 'HARD_SWISH':
        if (!sameArray(prepareHardSwish(q(xi), q(yi), prepareRounding(model.rounding)).table, op.options.table))
          fail(op, "its table is not TFLite's int8 HARD_SWISH");
        return { ...base, builtin: BuiltinOperator.HARD_SWISH, optionsType: 0, options: [] };
      case 'ELU':
      case 'EXP':
      case 'GELU': {
        // GELU's two forms differ in their tables: the one that reproduces it is the one exported.
        const forms = op.opcode === 'GELU' ? (['GELU', 'GELU_TANH'] as const) : ([op.opcode] as const);
        const form = forms.find((f) =>
          sameArray(prepareLookupTable(q(xi), q(yi), TFLITE_TABLE_FNS[f]).table, op.options.table),
        );
        if (!form) return fail(op, `its table is not TFLite's int8 ${op.opcode}`);
        return {
          ...base,
          builtin: BuiltinOperator[op.opcode],
          ...(op.opcode === 'GELU'
            ? {
                optionsType: BuiltinOptions.GeluOptions,
                options: [[Field.GeluOptions.approximate, 'bool', form === 'GELU_TANH' ? 1 : 0]],
              }
            : { optionsType: 0, options: [] }),
        };
      }
      case 'PRELU': {
        const alpha = op.inputs[1];
        const same = JSON.stringify(preparePrelu(q(xi), q(alpha), q(yi), prepareRounding(model.rounding)));
        if (same !== JSON.stringify(op.options)) fail(op, "its options are not TFLite's PRELU for its scales");
        return { ...base, builtin: BuiltinOperator.PRELU, optionsType: 0, options: [] };
      }
      case 'MAXIMUM':
      case 'MINIMUM':
        return { ...base, builtin: BuiltinOperator[op.opcode], optionsType: 0, options: [] };
      case 'LUT':
        return fail(op, 'TFLite has no builtin for a tabulated function (LUT): keep it in the .msl');
      case 'LEAKY_RELU': {
        const alpha = leakyReluAlpha(model, op, q(xi), q(yi));
        return {
          ...base,
          builtin: BuiltinOperator.LEAKY_RELU,
          optionsType: BuiltinOptions.LeakyReluOptions,
          options: [[Field.LeakyReluOptions.alpha, 'f32', alpha]],
        };
      }
      case 'CONCATENATION':
        return {
          ...base,
          builtin: BuiltinOperator.CONCATENATION,
          optionsType: BuiltinOptions.ConcatenationOptions,
          options: [[Field.ConcatenationOptions.axis, 'i32', op.options.axis]],
        };
      case 'PAD':
        if (op.options.pad_value !== q(yi).zeroPoint)
          fail(op, `TFLite's PAD pads with the zero point ${q(yi).zeroPoint}, not ${op.options.pad_value}`);
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/paddings`, op.options.paddings, [x.shape.length, 2])],
          builtin: BuiltinOperator.PAD,
          optionsType: BuiltinOptions.PadOptions,
          options: [],
        };
      case 'MIRROR_PAD':
        // TFLite's MirrorPadMode: REFLECT 0, SYMMETRIC 1, as Morsel's; EDGE has no TFLite builtin.
        if (op.options.mode !== 0 && op.options.mode !== 1) fail(op, "TFLite's MIRROR_PAD has no EDGE mode");
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/paddings`, op.options.paddings, [x.shape.length, 2])],
          builtin: BuiltinOperator.MIRROR_PAD,
          optionsType: BuiltinOptions.MirrorPadOptions,
          options: [[Field.MirrorPadOptions.mode, 'i8', op.options.mode]],
        };
      case 'RESIZE_BILINEAR': {
        const o = op.options;
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/size`, [y.shape[1], y.shape[2]])],
          builtin: BuiltinOperator.RESIZE_BILINEAR,
          optionsType: BuiltinOptions.ResizeBilinearOptions,
          options: [
            [Field.ResizeBilinearOptions.align_corners, 'bool', o.align_corners],
            [Field.ResizeBilinearOptions.half_pixel_centers, 'bool', o.half_pixel_centers],
          ],
        };
      }
      case 'RESIZE_NEAREST_NEIGHBOR': {
        const o = op.options;
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/size`, [y.shape[1], y.shape[2]])],
          builtin: BuiltinOperator.RESIZE_NEAREST_NEIGHBOR,
          optionsType: BuiltinOptions.ResizeNearestNeighborOptions,
          options: [
            [Field.ResizeNearestNeighborOptions.align_corners, 'bool', o.align_corners],
            [Field.ResizeNearestNeighborOptions.half_pixel_centers, 'bool', o.half_pixel_centers],
          ],
        };
      }
      case 'MEAN':
        return {
          ...base,
          inputs: [xi, addConstInts(`${op.name}/axes`, [1, 2])],
          builtin: BuiltinOperator.MEAN,
          optionsType: BuiltinOptions.ReducerOptions,
          options: [[Field.ReducerOptions.keep_dims, 'bool', y.shape.length === 4 ? 1 : 0]],
        };
      case 'GATHER_STRIDED': {
        // Any strided view (transpose, slice, split, shuffle) is one GATHER of the flattened input with constant
        // indices in the view's iteration shape: y[i] = x[offset + Σ i_d·strides[d]].
        const { offset, shape, strides } = op.options;
        const before: OutOp[] = [];
        const flat = viewAs(before, `${op.name}/flat`, xi, [numel(x.shape)]);
        const indices = stridedIndices(offset, shape, strides);
        const gather = producing(op.name, yi, shape, {
          builtin: BuiltinOperator.GATHER,
          inputs: [flat, addConstInts(`${op.name}/indices`, indices, shape)],
          optionsType: BuiltinOptions.GatherOptions,
          options: [[Field.GatherOptions.axis, 'i32', 0]],
        });
        return [...before, ...gather];
      }
      case 'REDUCE': {
        // [outer, count, inner] reduced over axis 1, reshaped around where the tensors have other shapes.
        const o = op.options;
        const reducer = (['mean', 'sum', 'max'] as const)[o.reducer];
        const geometry = { outer: o.outer, count: o.count, inner: o.inner };
        sameOptions(op, prepareReduce(reducer, geometry, q(xi), q(yi), prepareRounding(model.rounding)));
        const before: OutOp[] = [];
        const viewed = viewAs(before, `${op.name}/in`, xi, [o.outer, o.count, o.inner]);
        const builtin = { mean: BuiltinOperator.MEAN, sum: BuiltinOperator.SUM, max: BuiltinOperator.REDUCE_MAX }[
          reducer
        ];
        const reduced = producing(op.name, yi, [o.outer, o.inner], {
          builtin,
          inputs: [viewed, addConstInts(`${op.name}/axes`, [1])],
          optionsType: BuiltinOptions.ReducerOptions,
          options: [[Field.ReducerOptions.keep_dims, 'bool', 0]],
        });
        return [...before, ...reduced];
      }
      case 'BATCH_MATMUL': {
        // [batch or 1, rows, depth] × [batch or 1, depth, cols] (a batch of 1 broadcasts, as the stride 0 does).
        const o = op.options;
        const geometry = {
          batch: o.batch,
          rows: o.rows,
          depth: o.depth,
          cols: o.cols,
          lhs_batch_stride: o.lhs_batch_stride,
          rhs_batch_stride: o.rhs_batch_stride,
        };
        const [lhs, rhs] = [q(op.inputs[0]), q(op.inputs[1])];
        sameOptions(op, prepareBatchMatMul(geometry, lhs, rhs, q(yi), undefined, prepareRounding(model.rounding)));
        const before: OutOp[] = [];
        const a = viewAs(before, `${op.name}/lhs`, op.inputs[0], [o.lhs_batch_stride ? o.batch : 1, o.rows, o.depth]);
        const b = viewAs(before, `${op.name}/rhs`, op.inputs[1], [o.rhs_batch_stride ? o.batch : 1, o.depth, o.cols]);
        const product = producing(op.name, yi, [o.batch, o.rows, o.cols], {
          builtin: BuiltinOperator.BATCH_MATMUL,
          inputs: [a, b],
          optionsType: BuiltinOptions.BatchMatMulOptions,
          options: [],
        });
        return [...before, ...product];
      }
      case 'LAYER_NORM':
        return fail(op, 'TFLite has no LayerNorm builtin: keep it in the .msl');
      default: {
        const unknown: never = op;
        throw new ModelError(`cannot export opcode ${(unknown as QOp).opcode} to TFLite`);
      }
    }
  });
  const weighted = new Set<number>([
    BuiltinOperator.CONV_2D,
    BuiltinOperator.DEPTHWISE_CONV_2D,
    BuiltinOperator.FULLY_CONNECTED,
  ]);
  const fed = weightsAsInputs
    ? [...new Set(ops.filter((op) => weighted.has(op.builtin)).flatMap((op) => op.inputs.slice(1)))]
    : [];
  const weights = fed.map((i) => {
    const data = out[i].data!;
    delete out[i].data;
    return data;
  });
  return { bytes: writeTflite(model.name, out, ops, [...model.inputs, ...fed], model.outputs), weights };
}

/** SOFTMAX's beta from its exp table: exp_table[1] ≈ exp(−β·s_in)·2^31, confirmed by re-preparing. */
function softmaxBeta(model: QModel, op: Extract<QOp, { opcode: 'SOFTMAX' }>, input: QParams, output: QParams): number {
  const t = op.options.exp_table;
  const estimate = t[1] > 0 ? -Math.log(t[1] / 2147483648) / input.scale : 1;
  for (const beta of [1, ...roundings(estimate)]) {
    if (sameArray(prepareSoftmax(input, beta, output, prepareRounding(model.rounding)).exp_table, t)) return beta;
  }
  throw new ModelError(`cannot export SOFTMAX '${op.name}' to TFLite: no beta reproduces its exp table`);
}

/** LEAKY_RELU's alpha from its table's most negative input, confirmed by re-preparing. */
function leakyReluAlpha(
  model: QModel,
  op: Extract<QOp, { opcode: 'LEAKY_RELU' }>,
  input: QParams,
  output: QParams,
): number {
  const x = -128 - input.zeroPoint;
  const estimate = x < 0 ? ((op.options.table[0] - output.zeroPoint) * output.scale) / (x * input.scale) : 0;
  for (const alpha of roundings(estimate)) {
    if (sameArray(prepareLeakyRelu(input, output, alpha, prepareRounding(model.rounding)).table, op.options.table))
      return alpha;
  }
  throw new ModelError(`cannot export LEAKY_RELU '${op.name}' to TFLite: no alpha reproduces its table`);
}

/** A value estimated from quantized data, at 1 to 7 significant digits (the original was a short decimal). */
const roundings = (v: number): number[] => [1, 2, 3, 4, 5, 6, 7].map((d) => Math.fround(Number(v.toPrecision(d))));

/** A .tflite file (schema version 3, one subgraph) with these tensors and builtin operators. */
export function writeTflite(
  name: string,
  tensors: OutTensor[],
  ops: OutOp[],
  inputs: number[],
  outputs: number[],
): Uint8Array {
  const b = new Builder(1024);
  const F = Field;
  const ints = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
    return b.endVector();
  };
  const floats = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addFloat32(xs[i]);
    return b.endVector();
  };
  const longs = (xs: number[]) => {
    b.startVector(8, xs.length, 8);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt64(BigInt(xs[i]));
    return b.endVector();
  };
  const tables = (offsets: number[]) => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  };

  // Buffer 0 is the empty sentinel every activation points at.
  const bufferData: (Uint8Array | undefined)[] = [undefined];
  const bufferOf = tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));
  const buffers = bufferData.map((data) => {
    let dataOffset = 0;
    if (data) {
      b.startVector(1, data.length, 16);
      for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
      dataOffset = b.endVector();
    }
    b.startObject(3);
    if (data) b.addFieldOffset(F.Buffer.data, dataOffset, 0);
    return b.endObject();
  });

  const tensorOffsets = tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = ints(t.shape);
    let quant = 0;
    if (t.scale.length) {
      const scale = floats(t.scale);
      const zp = longs(t.zeroPoint);
      b.startObject(7);
      b.addFieldOffset(F.QuantizationParameters.scale, scale, 0);
      b.addFieldOffset(F.QuantizationParameters.zero_point, zp, 0);
      b.addFieldInt32(F.QuantizationParameters.quantized_dimension, t.quantizedDimension, 0);
      quant = b.endObject();
    }
    b.startObject(6);
    b.addFieldOffset(F.Tensor.shape, shape, 0);
    b.addFieldInt8(F.Tensor.type, t.type, -1);
    b.addFieldInt32(F.Tensor.buffer, bufferOf[i], -1);
    b.addFieldOffset(F.Tensor.name, name, 0);
    if (quant) b.addFieldOffset(F.Tensor.quantization, quant, 0);
    if (t.variable) b.addFieldInt8(F.Tensor.is_variable, 1, 0);
    return b.endObject();
  });

  const codes: number[] = [];
  const opOffsets = ops.map((op) => {
    let codeIndex = codes.indexOf(op.builtin);
    if (codeIndex < 0) codeIndex = codes.push(op.builtin) - 1;
    let options = 0;
    if (op.optionsType) {
      b.startObject(8);
      for (const [id, kind, v] of op.options) {
        if (kind === 'f32') b.addFieldFloat32(id, v, Number.NaN);
        else if (kind === 'i32') b.addFieldInt32(id, v, Number.NaN);
        else b.addFieldInt8(id, v, Number.NaN);
      }
      options = b.endObject();
    }
    const inputs = ints(op.inputs);
    const outputs = ints(op.outputs);
    b.startObject(5);
    b.addFieldInt32(F.Operator.opcode_index, codeIndex, -1);
    b.addFieldOffset(F.Operator.inputs, inputs, 0);
    b.addFieldOffset(F.Operator.outputs, outputs, 0);
    if (op.optionsType) {
      b.addFieldInt8(F.Operator.builtin_options_type, op.optionsType, 0);
      b.addFieldOffset(F.Operator.builtin_options, options, 0);
    }
    return b.endObject();
  });
  const codeOffsets = codes.map((code) => {
    b.startObject(4);
    b.addFieldInt8(F.OperatorCode.deprecated_builtin_code, Math.min(code, 127), -1);
    b.addFieldInt32(F.OperatorCode.version, INT8_OP_VERSION[code] ?? 1, 1);
    b.addFieldInt32(F.OperatorCode.builtin_code, code, -1);
    return b.endObject();
  });

  const sgTensors = tables(tensorOffsets);
  const sgInputs = ints(inputs);
  const sgOutputs = ints(outputs);
  const sgOps = tables(opOffsets);
  const sgName = b.createString(name);
  b.startObject(5);
  b.addFieldOffset(F.SubGraph.tensors, sgTensors, 0);
  b.addFieldOffset(F.SubGraph.inputs, sgInputs, 0);
  b.addFieldOffset(F.SubGraph.outputs, sgOutputs, 0);
  b.addFieldOffset(F.SubGraph.operators, sgOps, 0);
  b.addFieldOffset(F.SubGraph.name, sgName, 0);
  const subgraph = b.endObject();

  const codesVec = tables(codeOffsets);
  const subgraphs = tables([subgraph]);
  const description = b.createString(`Morsel export of ${name}`);
  const buffersVec = tables(buffers);
  b.startObject(5);
  b.addFieldInt32(F.Model.version, TFLITE_SCHEMA_VERSION, -1);
  b.addFieldOffset(F.Model.operator_codes, codesVec, 0);
  b.addFieldOffset(F.Model.subgraphs, subgraphs, 0);
  b.addFieldOffset(F.Model.description, description, 0);
  b.addFieldOffset(F.Model.buffers, buffersVec, 0);
  b.finish(b.endObject(), TFLITE_IDENTIFIER);
  return b.asUint8Array().slice();
}
