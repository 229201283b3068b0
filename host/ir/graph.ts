// The model IR every importer produces and every pass, quantizer and emitter consumes.
// Tensors are dense, row-major. Float graphs carry Float32Array data for constants; quantized graphs
// carry Int8Array/Int32Array data and per-tensor or per-channel quantization.

import type { Expr } from './elementwise';

type DType = 'float32' | 'int8' | 'int32';

export interface Quant {
  /** One scale per tensor, or one per channel along `axis`. Stored as float32 values (TFLite semantics). */
  scale: number[];
  zeroPoint: number[];
  axis?: number;
}

export type TensorData = Float32Array | Int8Array | Int32Array;

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Constant data (weights, biases, folded constants); undefined for activations. */
  data?: TensorData;
  quant?: Quant;
}

/** Clamp applied to an op's output in real (float) units; fused activations become this. */
export interface Clamp {
  min: number;
  max: number;
}

export type Padding = [top: number, left: number, bottom: number, right: number];

interface Conv2DAttrs {
  strides: [number, number];
  dilations: [number, number];
  pads: Padding;
  /** 1 for a normal conv; equal to in-channels (and out = in·multiplier) for depthwise. */
  group: number;
  clamp?: Clamp;
}
interface PoolAttrs {
  kernel: [number, number];
  strides: [number, number];
  pads: Padding;
  clamp?: Clamp;
  countIncludePad?: boolean;
}

/**
 * Ops. Layout conventions after import: `conv2d`/pools/`depthwise` are NHWC once the layout pass ran
 * (`graph.layout === 'NHWC'`); importers of NCHW formats set `graph.layout = 'NCHW'`.
 * Conv weights: NCHW graphs use ONNX's [out, in/group, kh, kw]; NHWC graphs use TFLite's
 * [out, kh, kw, in] for conv2d and [1, kh, kw, out] for depthwise.
 * Dense weights are [out, in] (TFLite FULLY_CONNECTED layout).
 */
export type Op =
  | { kind: 'conv2d'; inputs: [string, string] | [string, string, string]; outputs: [string]; attrs: Conv2DAttrs }
  | {
      kind: 'depthwise_conv2d';
      inputs: [string, string] | [string, string, string];
      outputs: [string];
      attrs: Conv2DAttrs & { multiplier: number };
    }
  | { kind: 'dense'; inputs: [string, string] | [string, string, string]; outputs: [string]; attrs: { clamp?: Clamp } }
  | { kind: 'matmul'; inputs: [string, string]; outputs: [string]; attrs: Record<string, never> }
  | { kind: 'add' | 'sub' | 'mul'; inputs: [string, string]; outputs: [string]; attrs: { clamp?: Clamp } }
  | { kind: 'relu' | 'sigmoid' | 'tanh'; inputs: [string]; outputs: [string]; attrs: Record<string, never> }
  | { kind: 'clip'; inputs: [string]; outputs: [string]; attrs: Clamp }
  | { kind: 'leaky_relu'; inputs: [string]; outputs: [string]; attrs: { alpha: number } }
  | { kind: 'softmax'; inputs: [string]; outputs: [string]; attrs: { axis: number; beta: number } }
  | { kind: 'log_softmax'; inputs: [string]; outputs: [string]; attrs: { axis: number } }
  | {
      kind: 'batchnorm';
      inputs: [string, string, string, string, string];
      outputs: [string];
      attrs: { epsilon: number; axis: number };
    }
  | { kind: 'max_pool' | 'avg_pool'; inputs: [string]; outputs: [string]; attrs: PoolAttrs }
  | { kind: 'mean'; inputs: [string]; outputs: [string]; attrs: { axes: number[]; keepDims: boolean } }
  | { kind: 'reshape'; inputs: [string]; outputs: [string]; attrs: { shape: number[] } }
  | { kind: 'transpose'; inputs: [string]; outputs: [string]; attrs: { perm: number[] } }
  | { kind: 'concat'; inputs: string[]; outputs: [string]; attrs: { axis: number; clamp?: Clamp } }
  | { kind: 'pad'; inputs: [string]; outputs: [string]; attrs: { pads: number[]; value: number } }
  | { kind: 'quantize' | 'dequantize'; inputs: [string]; outputs: [string]; attrs: Record<string, never> }
  | { kind: 'hard_swish'; inputs: [string]; outputs: [string]; attrs: Record<string, never> }
  /** Pads (as `pad`: begins then ends) filled from the tensor's own values: mirrored or its border repeated. */
  | { kind: 'mirror_pad'; inputs: [string]; outputs: [string]; attrs: { pads: number[]; mode: MirrorPadMode } }
  | { kind: 'elementwise'; inputs: [string]; outputs: [string]; attrs: { expr: Expr } }
  | { kind: 'prelu'; inputs: [string, string]; outputs: [string]; attrs: Record<string, never> }
  | { kind: 'maximum' | 'minimum'; inputs: [string, string]; outputs: [string]; attrs: Record<string, never> }
  /** y[i_0..i_r] = x[offset + Σ i_d·strides[d]] over the iteration shape `shape` (numel = y's): any strided view. */
  | {
      kind: 'gather_strided';
      inputs: [string];
      outputs: [string];
      attrs: { offset: number; shape: number[]; strides: number[] };
    }
  /** For each of outer·inner outputs, over `count` values `inner` apart (the reduced axes, contiguous). */
  | {
      kind: 'reduce';
      inputs: [string];
      outputs: [string];
      attrs: { reducer: 'mean' | 'sum' | 'max'; outer: number; count: number; inner: number };
    }
  /** y[b] = a[b] [rows, depth] · b[b] [depth, cols]; a batch stride of 0 broadcasts that operand. */
  | {
      kind: 'batch_matmul';
      inputs: [string, string];
      outputs: [string];
      attrs: {
        batch: number;
        rows: number;
        depth: number;
        cols: number;
        lhsBatchStride: number;
        rhsBatchStride: number;
      };
    }
  /** Nearest-neighbour resize of an NHWC map to the output's H and W, by TFLite's rule under these two flags. */
  | {
      kind: 'resize_nearest';
      inputs: [string];
      outputs: [string];
      attrs: { alignCorners: boolean; halfPixelCenters: boolean };
    }
  /** Each row of `count` values normalized ((x − mean)/√(var + epsilon)), times gamma [count] plus beta [count]. */
  | {
      kind: 'layer_norm';
      inputs: [string, string, string];
      outputs: [string];
      attrs: { count: number; epsilon: number };
    }
  /**
   * Transposed convolution, NHWC, weights [out, kh, kw, in] (TFLite's TRANSPOSE_CONV filter; a grouped one dense, zero
   * outside each group's block): input pixel (iy, ix) adds x·w into output (iy·stride − pads[0] + ky·dilation, ...);
   * the output's size (ONNX output_padding / output_shape) is its tensor's. `group` is always 1.
   */
  | {
      kind: 'conv_transpose';
      inputs: [string, string] | [string, string, string];
      outputs: [string];
      attrs: Conv2DAttrs;
    }
  /** Bilinear resize of an NHWC map to the output's H and W, by TFLite's rule under these two flags. */
  | {
      kind: 'resize_bilinear';
      inputs: [string];
      outputs: [string];
      attrs: { alignCorners: boolean; halfPixelCenters: boolean };
    };

export type MirrorPadMode = 'reflect' | 'symmetric' | 'edge';

export type OpKind = Op['kind'];

export interface Node<K extends OpKind = OpKind> {
  name: string;
  op: Extract<Op, { kind: K }>;
}

export interface Graph {
  name: string;
  layout: 'NCHW' | 'NHWC';
  tensors: Map<string, Tensor>;
  nodes: Node[];
  inputs: string[];
  outputs: string[];
  /** Free-form provenance (producer, opset, source file) shown by `inspect`. */
  meta: Record<string, string>;
}

export function newGraph(name: string, layout: Graph['layout']): Graph {
  return { name, layout, tensors: new Map(), nodes: [], inputs: [], outputs: [], meta: {} };
}

export function tensor(g: Graph, name: string): Tensor {
  const t = g.tensors.get(name);
  if (!t) throw new ModelError(`tensor '${name}' is not defined in graph '${g.name}'`);
  return t;
}

export function isConstant(g: Graph, name: string): boolean {
  return g.tensors.get(name)?.data !== undefined;
}

export { numel } from './shape';

/** ONNX/NumPy/TFLite broadcasting: shapes right-aligned, a dimension of 1 repeats along the other's. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1,
      db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new ModelError(`shapes [${a}] and [${b}] do not broadcast`);
    return da === 1 ? db : da;
  });
}

/** Nodes that read a tensor. */
export function consumers(g: Graph, name: string): Node[] {
  return g.nodes.filter((n) => n.op.inputs.includes(name));
}

export function producer(g: Graph, name: string): Node | undefined {
  return g.nodes.find((n) => n.op.outputs.includes(name));
}

/** An error in the user's model or data (not a bug in Morsel): the CLI prints it as one line, exit 2. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
