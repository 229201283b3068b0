// A float32 .tflite → the float Graph IR (NHWC, TFLite's own weight layouts), for Morsel's calibration and
// quantizer. Fused activations become clamps; constants are copied out of the file. The converter's default
// "dynamic range" models keep some weights int8 with float scales (hybrid ops): those are dequantized, which is
// the float function the hybrid kernels approximate.

import { type Clamp, type Graph, ModelError, newGraph, type Op, type Padding as Pads } from '../../ir/graph';
import type { TfliteModel, TfliteOperator, TfliteTensor } from './reader';
import { fusedClamp, int32Of } from './to-qmodel';
import { BuiltinOperator, TensorType } from './schema';
import { windowGeometry } from './padding';
import { elementsPerChannel } from '../../ir/shape';

const B = BuiltinOperator;
export const SUPPORTED_FLOAT_OPS = [
  'ADD',
  'AVERAGE_POOL_2D',
  'CONCATENATION',
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'FULLY_CONNECTED',
  'LEAKY_RELU',
  'LOGISTIC',
  'MAX_POOL_2D',
  'MEAN',
  'MUL',
  'PAD',
  'RELU',
  'RELU6',
  'RESHAPE',
  'SOFTMAX',
  'SUB',
  'TANH',
] as const;

const clampOf = (op: TfliteOperator): Clamp | undefined =>
  fusedClamp(op, op.options.fused_activation_function as number | undefined);

export function tfliteToGraph(m: TfliteModel, name = m.subgraphName || 'tflite'): Graph {
  const g = newGraph(name, 'NHWC');
  g.meta = { producer: `TFLite${m.description ? ` (${m.description})` : ''}`, format: 'tflite' };
  // TFLite does not require unique tensor names; the IR does.
  const names = new Map<number, string>();
  const used = new Set<string>();
  const nameOf = (i: number): string => {
    let n = names.get(i);
    if (n === undefined) {
      const base = m.tensors[i].name || `tensor_${i}`;
      n = used.has(base) ? `${base}#${i}` : base;
      used.add(n);
      names.set(i, n);
      addTensor(i, n);
    }
    return n;
  };
  const addTensor = (i: number, n: string) => {
    const t = m.tensors[i];
    if (!t.data && t.type !== TensorType.FLOAT32)
      throw new ModelError(
        `activation '${t.name}' is not float32; a fully quantized .tflite imports as a QModel (tfliteToQModel)`,
      );
    g.tensors.set(n, {
      name: n,
      dtype: 'float32',
      shape: t.shape.slice(),
      ...(t.data ? { data: floatConstant(t) } : {}),
    });
  };
  const where = (op: TfliteOperator) => `operator ${op.index} (${op.opName})`;
  const tensorAt = (op: TfliteOperator, k: number): TfliteTensor => {
    const i = op.inputs[k];
    if (i === undefined || i < 0) throw new ModelError(`${where(op)}: input ${k} is missing`);
    return m.tensors[i];
  };
  const constInts = (op: TfliteOperator, k: number): number[] => {
    const t = tensorAt(op, k);
    if (!t.data || t.type !== TensorType.INT32)
      throw new ModelError(`${where(op)}: input ${k} ('${t.name}') must be a constant int32 tensor`);
    return Array.from(int32Of(t.data));
  };
  const pads = (
    geom: { pad_top: number; pad_left: number },
    inShape: number[],
    filter: [number, number],
    stride: [number, number],
    dilation: [number, number],
    outShape: number[],
  ): Pads => {
    const total = (d: number) =>
      Math.max(0, (outShape[1 + d] - 1) * stride[d] + (filter[d] - 1) * dilation[d] + 1 - inShape[1 + d]);
    return [geom.pad_top, geom.pad_left, total(0) - geom.pad_top, total(1) - geom.pad_left];
  };

  for (const op of m.operators) {
    const o = op.options;
    const x = () => nameOf(op.inputs[0]);
    const y = nameOf(op.outputs[0]);
    const xs = () => tensorAt(op, 0).shape;
    const ys = m.tensors[op.outputs[0]].shape;
    let node: Op;
    switch (op.builtinCode) {
      case B.CONV_2D:
      case B.DEPTHWISE_CONV_2D: {
        const dw = op.builtinCode === B.DEPTHWISE_CONV_2D;
        const ws = tensorAt(op, 1).shape;
        const filter: [number, number] = [ws[1], ws[2]];
        const stride: [number, number] = [o.stride_h as number, o.stride_w as number];
        const dilation: [number, number] = [o.dilation_h_factor as number, o.dilation_w_factor as number];
        const geom = windowGeometry(o.padding as number, xs(), filter, stride, dilation, ys, where(op));
        const inputs = (
          op.inputs[2] !== undefined && op.inputs[2] >= 0
            ? [x(), nameOf(op.inputs[1]), nameOf(op.inputs[2])]
            : [x(), nameOf(op.inputs[1])]
        ) as [string, string];
        const attrs = {
          strides: stride,
          dilations: dilation,
          pads: pads(geom, xs(), filter, stride, dilation, ys),
          clamp: clampOf(op),
        };
        node = dw
          ? {
              kind: 'depthwise_conv2d',
              inputs,
              outputs: [y],
              attrs: { ...attrs, group: xs()[3], multiplier: ys[3] / xs()[3] },
            }
          : { kind: 'conv2d', inputs, outputs: [y], attrs: { ...attrs, group: 1 } };
        break;
      }
      case B.FULLY_CONNECTED: {
        if (o.weights_format !== 0)
          throw new ModelError(`${where(op)}: shuffled weights format ${o.weights_format} is not supported`);
        const inputs = (
          op.inputs[2] !== undefined && op.inputs[2] >= 0
            ? [x(), nameOf(op.inputs[1]), nameOf(op.inputs[2])]
            : [x(), nameOf(op.inputs[1])]
        ) as [string, string];
        node = { kind: 'dense', inputs, outputs: [y], attrs: { clamp: clampOf(op) } };
        break;
      }
      case B.AVERAGE_POOL_2D:
      case B.MAX_POOL_2D: {
        const kernel: [number, number] = [o.filter_height as number, o.filter_width as number];
        const strides: [number, number] = [o.stride_h as number, o.stride_w as number];
        const geom = windowGeometry(o.padding as number, xs(), kernel, strides, [1, 1], ys, where(op));
        node = {
          kind: op.builtinCode === B.MAX_POOL_2D ? 'max_pool' : 'avg_pool',
          inputs: [x()],
          outputs: [y],
          attrs: { kernel, strides, pads: pads(geom, xs(), kernel, strides, [1, 1], ys), clamp: clampOf(op) },
        };
        break;
      }
      case B.RESHAPE:
        node = { kind: 'reshape', inputs: [x()], outputs: [y], attrs: { shape: ys.slice() } };
        break;
      case B.SOFTMAX:
        node = { kind: 'softmax', inputs: [x()], outputs: [y], attrs: { axis: -1, beta: o.beta as number } };
        break;
      case B.ADD:
      case B.SUB:
      case B.MUL:
        node = {
          kind: op.builtinCode === B.ADD ? 'add' : op.builtinCode === B.SUB ? 'sub' : 'mul',
          inputs: [x(), nameOf(op.inputs[1])],
          outputs: [y],
          attrs: { clamp: clampOf(op) },
        };
        break;
      case B.LOGISTIC:
        node = { kind: 'sigmoid', inputs: [x()], outputs: [y], attrs: {} };
        break;
      case B.TANH:
        node = { kind: 'tanh', inputs: [x()], outputs: [y], attrs: {} };
        break;
      case B.RELU:
        node = { kind: 'relu', inputs: [x()], outputs: [y], attrs: {} };
        break;
      case B.RELU6:
        node = { kind: 'clip', inputs: [x()], outputs: [y], attrs: { min: 0, max: 6 } };
        break;
      case B.LEAKY_RELU:
        node = { kind: 'leaky_relu', inputs: [x()], outputs: [y], attrs: { alpha: o.alpha as number } };
        break;
      case B.CONCATENATION: {
        const axis = o.axis as number;
        node = {
          kind: 'concat',
          inputs: op.inputs.map(nameOf),
          outputs: [y],
          attrs: { axis: axis < 0 ? axis + ys.length : axis, clamp: clampOf(op) },
        };
        break;
      }
      case B.PAD: {
        // TFLite pairs (before, after) per dimension; the IR lists all befores, then all afters (ONNX order).
        const pairs = constInts(op, 1);
        const rank = xs().length;
        if (pairs.length !== 2 * rank)
          throw new ModelError(`${where(op)}: paddings have ${pairs.length} values for a rank-${rank} input`);
        const befores = Array.from({ length: rank }, (_, d) => pairs[2 * d]);
        const afters = Array.from({ length: rank }, (_, d) => pairs[2 * d + 1]);
        node = { kind: 'pad', inputs: [x()], outputs: [y], attrs: { pads: [...befores, ...afters], value: 0 } };
        break;
      }
      case B.MEAN:
        node = {
          kind: 'mean',
          inputs: [x()],
          outputs: [y],
          attrs: { axes: constInts(op, 1).map((a) => (a < 0 ? a + xs().length : a)), keepDims: o.keep_dims as boolean },
        };
        break;
      default:
        throw new ModelError(
          `${where(op)} is not supported in float models; Morsel imports these TFLite ops: ${SUPPORTED_FLOAT_OPS.join(', ')}`,
        );
    }
    g.nodes.push({ name: y, op: node });
  }
  g.inputs = m.inputs.map(nameOf);
  g.outputs = m.outputs.map(nameOf);
  return g;
}

/** A constant as float32: float data as is, int8 weights dequantized per tensor or per channel. */
function floatConstant(t: TfliteTensor): Float32Array {
  const bytes = t.data!.buffer.slice(t.data!.byteOffset, t.data!.byteOffset + t.data!.length);
  if (t.type === TensorType.FLOAT32) return new Float32Array(bytes);
  const q = t.quantization;
  if (t.type !== TensorType.INT8 || !q) {
    throw new ModelError(
      `constant '${t.name}' is neither float32 nor quantized int8; a fully quantized .tflite imports as a QModel (tfliteToQModel)`,
    );
  }
  const raw = new Int8Array(bytes);
  const channels = q.scale.length;
  const inner = elementsPerChannel(t.shape, q.quantizedDimension);
  return Float32Array.from(raw, (v, i) => {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    return q.scale[c] * (v - (q.zeroPoint[c] ?? 0));
  });
}
