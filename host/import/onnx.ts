// ONNX (opsets 11–17) → float Graph, parsed with protobufjs from a descriptor of the ONNX messages Morsel
// reads (official field numbers). Batch 1 (a dynamic batch becomes 1).
//
// Layout: rank-4 activations are stored NHWC while importing. Every ONNX activation is a *view* of one IR
// tensor: its ONNX (logical) shape plus, when it is not stored in the canonical layout (NHWC for rank 4,
// row-major otherwise), a map from each logical element to its position in the IR tensor. Reshape, Flatten,
// Squeeze, Unsqueeze and Transpose of activations only compose these maps; no data moves. A view is
// materialised for free where the map turns out canonical (an IR reshape at most), absorbed into weights
// where a Gemm/MatMul (columns) or a Conv (input channels) reads it, and rejected with a clear error where it
// would need a runtime transpose (the device has none). A graph input read only by a Transpose is stored in the
// order that makes the transposed view canonical (TF-style NHWC inputs cost nothing), and a graph output whose
// view is plain row-major is returned as it is. `graph.meta.nhwcFromNchw` lists the inputs and outputs that are
// stored as the NHWC transpose of their ONNX (NCHW) tensor.
// Shape subgraphs (Shape, Gather, Slice, Concat, Cast, ConstantOfShape, …) over constants are evaluated here.
// QDQ models: Q/DQ pairs on activations annotate the IR tensor with `quant`; DequantizeLinear of a constant
// gives a float constant that keeps its scales (weights quantized per output channel keep their axis).

import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { broadcastIndex } from '../interp/int8/broadcast';
import { broadcastShapes, type Graph, ModelError, newGraph, numel, type Padding, type Quant } from '../ir/graph';
import { elementsPerChannel, windowPadding2D } from '../ir/shape';

const ONNX_DESCRIPTOR = {
  nested: {
    ModelProto: {
      fields: {
        ir_version: { type: 'int64', id: 1 },
        producer_name: { type: 'string', id: 2 },
        opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
        graph: { type: 'GraphProto', id: 7 },
      },
    },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    GraphProto: {
      fields: {
        node: { rule: 'repeated', type: 'NodeProto', id: 1 },
        name: { type: 'string', id: 2 },
        initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
        input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
        output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
      },
    },
    NodeProto: {
      fields: {
        input: { rule: 'repeated', type: 'string', id: 1 },
        output: { rule: 'repeated', type: 'string', id: 2 },
        name: { type: 'string', id: 3 },
        op_type: { type: 'string', id: 4 },
        attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
        domain: { type: 'string', id: 7 },
      },
    },
    AttributeProto: {
      fields: {
        name: { type: 'string', id: 1 },
        f: { type: 'float', id: 2 },
        i: { type: 'int64', id: 3 },
        s: { type: 'bytes', id: 4 },
        t: { type: 'TensorProto', id: 5 },
        floats: { rule: 'repeated', type: 'float', id: 7 },
        ints: { rule: 'repeated', type: 'int64', id: 8 },
      },
    },
    TensorProto: {
      fields: {
        dims: { rule: 'repeated', type: 'int64', id: 1 },
        data_type: { type: 'int32', id: 2 },
        float_data: { rule: 'repeated', type: 'float', id: 4 },
        int32_data: { rule: 'repeated', type: 'int32', id: 5 },
        int64_data: { rule: 'repeated', type: 'int64', id: 7 },
        name: { type: 'string', id: 8 },
        raw_data: { type: 'bytes', id: 9 },
        double_data: { rule: 'repeated', type: 'double', id: 10 },
      },
    },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } } },
    TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
    Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
  },
};

export const ONNX_OPS = [
  'Conv',
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'BatchNormalization',
  'Relu',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'ReduceMean',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Concat',
  'Softmax',
  'Pad',
  'QuantizeLinear',
  'DequantizeLinear',
  'Constant',
  'Identity',
  'Dropout',
  // Evaluated at import when their inputs are constant (shape arithmetic):
  'Shape',
  'Gather',
  'Slice',
  'Cast',
  'ConstantOfShape',
  'Range',
  'Neg',
];

// TensorProto.DataType values Morsel reads.
const FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  DOUBLE = 11;

/** A constant: ONNX dims, values as doubles (exact for every supported type), its ONNX type, QDQ parameters. */
interface Const {
  dims: number[];
  data: Float64Array;
  type: number;
  quant?: Quant;
}
/** An activation: a view of IR tensor `phys` with ONNX shape `shape`; `map` (logical → IR element) when not canonical. */
interface Act {
  phys: string;
  shape: number[];
  map?: Int32Array;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));
const isInt = (type: number) => type !== FLOAT && type !== DOUBLE;

function tensorValues(t: any, where: string): Const {
  const dims = (t.dims ?? []).map(num);
  const n = numel(dims);
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length ? t.raw_data : undefined;
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const data = new Float64Array(n);
  const type = t.data_type;
  const size =
    type === FLOAT || type === INT32
      ? 4
      : type === INT64 || type === DOUBLE
        ? 8
        : type === INT8 || type === UINT8
          ? 1
          : 0;
  if (!size)
    throw new ModelError(
      `${where}: tensor '${t.name}' has data type ${type}; supported: float, int8, uint8, int32, int64, double`,
    );
  if (dv && dv.byteLength < n * size) throw new ModelError(`${where}: tensor '${t.name}' is truncated`);
  for (let i = 0; i < n; i++) {
    if (dv) {
      data[i] =
        type === FLOAT
          ? dv.getFloat32(4 * i, true)
          : type === INT32
            ? dv.getInt32(4 * i, true)
            : type === INT64
              ? Number(dv.getBigInt64(8 * i, true))
              : type === DOUBLE
                ? dv.getFloat64(8 * i, true)
                : type === INT8
                  ? dv.getInt8(i)
                  : dv.getUint8(i);
    } else {
      const src =
        type === FLOAT ? t.float_data : type === INT64 ? t.int64_data : type === DOUBLE ? t.double_data : t.int32_data;
      if (!src || src.length < n)
        throw new ModelError(`${where}: tensor '${t.name}' has ${src?.length ?? 0} values for shape [${dims}]`);
      data[i] = num(src[i]);
    }
    if (!Number.isFinite(data[i])) throw new ModelError(`${where}: tensor '${t.name}' contains NaN or Inf`);
  }
  return { dims, data, type };
}

const stridesOf = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, k = 1; d >= 0; k *= shape[d], d--) s[d] = k;
  return s;
};

/** For each element of the transposed tensor, the flat index it reads in the source (ONNX Transpose semantics). */
function transposeIndex(shape: readonly number[], perm: readonly number[]): Int32Array {
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const idx = new Int32Array(numel(shape));
  const coord = new Array<number>(perm.length).fill(0);
  for (let i = 0, at = 0; i < idx.length; i++) {
    idx[i] = at;
    for (let d = perm.length - 1; d >= 0; d--) {
      at += inStrides[perm[d]];
      if (++coord[d] < outShape[d]) break;
      at -= inStrides[perm[d]] * outShape[d];
      coord[d] = 0;
    }
  }
  return idx;
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
/** The IR (stored) shape of an activation with ONNX shape `shape`. */
const storedShape = (shape: readonly number[]) => (shape.length === 4 ? NCHW_TO_NHWC.map((p) => shape[p]) : [...shape]);

/** Canonical storage: for each logical (ONNX row-major) element, its IR index. */
function canonicalMap(shape: readonly number[]): Int32Array {
  if (shape.length !== 4) return Int32Array.from({ length: numel(shape) }, (_, i) => i);
  const toLogical = transposeIndex(shape, NCHW_TO_NHWC);
  const map = new Int32Array(toLogical.length);
  toLogical.forEach((logical, stored) => {
    map[logical] = stored;
  });
  return map;
}

const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

function normalizeAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ModelError(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** ONNX auto_pad / explicit pads for a 2-D window → IR padding. */
function windowPads(
  autoPad: string,
  explicit: number[],
  inHW: number[],
  strides: number[],
  effectiveKernel: number[],
  where: string,
): Padding {
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')
    return windowPadding2D(autoPad === 'SAME_UPPER' ? 'same' : 'same_lower', inHW, effectiveKernel, strides).pads;
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'NOTSET' && autoPad !== '') throw new ModelError(`${where}: auto_pad ${autoPad} is not supported`);
  const p = explicit.length ? explicit : [0, 0, 0, 0];
  if (p.length !== 4) throw new ModelError(`${where}: only 2-D windows are supported (pads [${p}])`);
  return [p[0], p[1], p[2], p[3]];
}

/** ONNX QuantizeLinear rounding: half to even, in float32, then saturate. */
function quantizeOnnx(x: number, scale: number, zeroPoint: number, lo: number, hi: number): number {
  const v = Math.fround(x / scale);
  const r = Math.round(v);
  const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return Math.min(hi, Math.max(lo, even + zeroPoint));
}

export function importOnnx(file: string): Graph {
  let model: any;
  try {
    const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR as protobuf.INamespace);
    model = root.lookupType('ModelProto').decode(fs.readFileSync(file));
  } catch (e) {
    throw new ModelError(`${file}: not a valid ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length) throw new ModelError(`${file}: not an ONNX model (no graph)`);
  const opset = num((model.opset_import ?? []).find((o: any) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset && (opset < 7 || opset > 18)) throw new ModelError(`${file}: opset ${opset} is not supported (11–17)`);
  const g = newGraph(path.basename(file).replace(/\.onnx$/, ''), 'NHWC');
  g.meta = {
    producer: `${model.producer_name || 'ONNX'} (opset ${opset})`,
    source: path.basename(file),
    sourceLayout: 'NCHW',
  };

  const consts = new Map<string, Const>();
  for (const t of graph.initializer ?? []) consts.set(t.name, tensorValues(t, file));
  const acts = new Map<string, Act>();
  /** Outputs of QuantizeLinear on activations: int8 values only a DequantizeLinear may read. */
  const quantized = new Map<string, Act>();
  const addConst = (name: string, shape: number[], data: ArrayLike<number>, quant?: Quant) => {
    g.tensors.set(name, { name, dtype: 'float32', shape, data: Float32Array.from(data), ...(quant ? { quant } : {}) });
    return name;
  };
  const newActivation = (name: string, shape: number[]) => g.tensors.set(name, { name, dtype: 'float32', shape });
  const storedOf = (a: Act) => g.tensors.get(a.phys)!.shape;

  /** Graph inputs and outputs whose IR data is the NHWC transpose of the ONNX (NCHW) tensor. */
  const transposedIo: string[] = [];
  const inputs = (graph.input ?? []).filter((i: any) => !consts.has(i.name));
  if (!inputs.length) throw new ModelError(`${file}: the graph has no inputs`);
  for (const input of inputs) {
    const dims = input.type?.tensor_type?.shape?.dim ?? [];
    const batch = dims.length ? num(dims[0].dim_value) : 1;
    if (batch > 1)
      throw new ModelError(
        `${file}: input '${input.name}' has batch size ${batch}; only batch 1 or a dynamic batch is supported (export with batch 1)`,
      );
    const shape = dims.map((d: any, i: number) => (i === 0 ? 1 : num(d.dim_value)));
    if (shape.some((d: number) => !(d >= 1)))
      throw new ModelError(
        `${file}: input '${input.name}' needs static dimensions after the batch (got [${dims.map((d: any) => d.dim_param || num(d.dim_value))}])`,
      );
    g.inputs.push(input.name);
    // An input read only by a Transpose (an NHWC input turned NCHW, as TF exporters write) is stored so that the
    // transposed view is the canonical one: the Transpose costs nothing and the caller feeds the data as it is.
    const users = graph.node.filter((n: any) => (n.input ?? []).includes(input.name));
    const perm: number[] | undefined =
      users.length === 1 && users[0].op_type === 'Transpose'
        ? users[0].attribute?.find((a: any) => a.name === 'perm')?.ints.map(num)
        : undefined;
    if (perm && perm.length === shape.length) {
      const transposed = perm.map((p) => shape[p]);
      const map = new Int32Array(numel(shape));
      const outMap = canonicalMap(transposed);
      transposeIndex(shape, perm).forEach((src, j) => {
        map[src] = outMap[j];
      });
      newActivation(input.name, storedShape(transposed));
      acts.set(input.name, { phys: input.name, shape, map });
      continue;
    }
    newActivation(input.name, storedShape(shape));
    acts.set(input.name, { phys: input.name, shape });
    if (shape.length === 4) transposedIo.push(input.name);
  }

  graph.node.forEach((node: any, index: number) => {
    const name: string = node.name || `${node.op_type}_${index}`;
    const where = `node ${index} '${name}' (${node.op_type})`;
    const attr = (k: string) => (node.attribute ?? []).find((a: any) => a.name === k);
    const ints = (k: string, d: number[]): number[] => (attr(k) ? attr(k).ints.map(num) : d);
    const int = (k: string, d: number) => (attr(k) ? num(attr(k).i) : d);
    const float = (k: string, d: number) => (attr(k) ? attr(k).f : d);
    const str = (k: string, d: string) => (attr(k) ? Buffer.from(attr(k).s).toString() : d);
    const ins: string[] = node.input ?? [];
    const out: string = node.output[0];
    const constOf = (n: string | undefined): Const | undefined => (n ? consts.get(n) : undefined);
    const needConst = (n: string | undefined, what: string): Const => {
      const c = constOf(n);
      if (!c) throw new ModelError(`${where}: ${what} must be a constant`);
      return c;
    };
    const actOf = (n: string): Act | undefined => {
      if (quantized.has(n))
        throw new ModelError(
          `${where}: reads the int8 output of a QuantizeLinear; only DequantizeLinear is supported there`,
        );
      return acts.get(n);
    };
    const needAct = (n: string): Act => {
      const a = actOf(n);
      if (!a)
        throw new ModelError(
          `${where}: input '${n}' is ${consts.has(n) ? 'a constant; only activations are supported here' : 'not defined'}`,
        );
      return a;
    };
    const allConst = ins.every((n) => !n || consts.has(n));
    const setConst = (dims: number[], data: ArrayLike<number>, type: number) =>
      consts.set(out, { dims, data: Float64Array.from(data), type });
    /** Axes from the `axes` attribute (older opsets) or the second input (newer). */
    const axesOf = (rank: number, d: number[]): number[] => {
      const a = ins[1] ? Array.from(needConst(ins[1], 'axes').data) : ints('axes', d);
      return a.map((x) => normalizeAxis(x, rank, where));
    };

    /** The IR tensor of an activation in canonical layout, or a clear error when it is a transposed view. */
    const canonical = (a: Act, what = 'this op'): string => {
      if (a.map && !sameArray(a.map, canonicalMap(a.shape))) {
        throw new ModelError(
          `${where}: ${what} would read a transposed activation [${a.shape}], which needs a runtime transpose; this is not supported (the device has no TRANSPOSE)`,
        );
      }
      return a.phys;
    };
    /** Defines `outName` as a view of `a` with ONNX shape `shape` and element map `map`, materialising it when canonical. */
    const view = (outName: string, a: Act, shape: number[], map: Int32Array, nodeName = name): Act => {
      let v: Act;
      if (!sameArray(map, canonicalMap(shape))) v = { phys: a.phys, shape, map };
      else if (sameArray(storedOf(a), storedShape(shape))) v = { phys: a.phys, shape };
      else {
        newActivation(outName, storedShape(shape));
        g.nodes.push({
          name: nodeName,
          op: { kind: 'reshape', inputs: [a.phys], outputs: [outName], attrs: { shape: storedShape(shape) } },
        });
        v = { phys: outName, shape };
      }
      acts.set(outName, v);
      return v;
    };
    const mapOf = (a: Act) => a.map ?? canonicalMap(a.shape);
    /** Emits an op whose output is a new activation with ONNX shape `shape` (a view with `map` for element-wise ops on views). */
    const emit = (op: any, shape: number[], map?: Int32Array, stored = storedShape(shape)) => {
      newActivation(out, stored);
      g.nodes.push({ name, op: { ...op, outputs: [out] } });
      acts.set(out, { phys: out, shape, ...(map ? { map } : {}) });
    };
    /** A constant operand of an element-wise op, laid out like activation `a` (broadcastable to it). */
    const constLike = (k: Const, a: Act, tag: string): string => {
      const cname = `${name}/${tag}`;
      const outShape = broadcastShapes(a.shape, k.dims);
      if (!sameArray(outShape, a.shape))
        throw new ModelError(
          `${where}: constant [${k.dims}] would broadcast activation [${a.shape}] to a larger shape; not supported`,
        );
      if (!a.map || sameArray(a.map, canonicalMap(a.shape))) {
        const quant = k.quant?.scale.length === 1 ? k.quant : undefined;
        if (a.shape.length !== 4) return addConst(cname, k.dims, k.data, quant);
        const dims4 = [...new Array(4 - k.dims.length).fill(1), ...k.dims];
        const idx = transposeIndex(dims4, NCHW_TO_NHWC);
        return addConst(
          cname,
          storedShape(dims4),
          Array.from(idx, (i) => k.data[i]),
          quant,
        );
      }
      // A transposed view: spell the constant out at full size in the stored order.
      const full = broadcastIndex(k.dims, a.shape);
      const stored = new Float32Array(full.length);
      a.map.forEach((s, i) => {
        stored[s] = k.data[full[i]];
      });
      return addConst(cname, storedOf(a), stored);
    };

    // Constant subgraphs (shape arithmetic, folded parameters).
    if ((allConst && ins.some((n) => n)) || node.op_type === 'Shape') {
      if (foldConstantNode()) return;
    }

    function foldConstantNode(): boolean {
      const c = ins.map((n) => constOf(n));
      const x = c[0]!;
      switch (node.op_type) {
        case 'Identity':
        case 'Dropout':
          consts.set(out, x);
          return true;
        case 'Cast': {
          const to = int('to', FLOAT);
          setConst(x.dims, isInt(to) ? x.data.map(Math.trunc) : x.data, to);
          return true;
        }
        case 'Shape': {
          const s = actOf(ins[0])?.shape ?? constOf(ins[0])?.dims;
          if (!s) throw new ModelError(`${where}: input '${ins[0]}' is not defined`);
          const rank = s.length;
          const clampIndex = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
          const sl = s.slice(clampIndex(int('start', 0)), clampIndex(int('end', rank)));
          setConst([sl.length], sl, INT64);
          return true;
        }
        case 'ConstantOfShape': {
          const value = attr('value')?.t ? tensorValues(attr('value').t, where) : { data: [0], type: FLOAT };
          const dims = Array.from(x.data);
          setConst(dims, new Float64Array(numel(dims)).fill(value.data[0]), value.type);
          return true;
        }
        case 'Gather': {
          const idx = c[1]!;
          const axis = normalizeAxis(int('axis', 0), x.dims.length, where);
          const outer = numel(x.dims.slice(0, axis)),
            inner = numel(x.dims.slice(axis + 1)),
            n = x.dims[axis];
          const data: number[] = [];
          for (let o = 0; o < outer; o++)
            for (const i of idx.data) {
              const j = i < 0 ? i + n : i;
              for (let k = 0; k < inner; k++) data.push(x.data[(o * n + j) * inner + k]);
            }
          setConst([...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)], data, x.type);
          return true;
        }
        case 'Slice': {
          const rank = x.dims.length;
          const starts = c[1] ? Array.from(c[1].data) : ints('starts', []);
          const ends = c[2] ? Array.from(c[2].data) : ints('ends', []);
          const axes = (
            c[3]
              ? Array.from(c[3].data)
              : ints(
                  'axes',
                  starts.map((_, i) => i),
                )
          ).map((a) => normalizeAxis(a, rank, where));
          const steps = c[4] ? Array.from(c[4].data) : starts.map(() => 1);
          const ranges = x.dims.map((d) => ({ start: 0, step: 1, count: d }));
          axes.forEach((a, i) => {
            const d = x.dims[a],
              step = steps[i];
            if (step === 0) throw new ModelError(`${where}: Slice step 0`);
            const clampTo = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
            const start = step > 0 ? clampTo(starts[i], 0, d) : clampTo(starts[i], -1, d - 1);
            const end = step > 0 ? clampTo(ends[i], 0, d) : clampTo(ends[i], -1, d - 1);
            ranges[a] = { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
          });
          const dims = ranges.map((r) => r.count);
          const strides = stridesOf(x.dims);
          const data = Array.from({ length: numel(dims) }, (_, flat) => {
            let src = 0;
            for (let d = rank - 1, rest = flat; d >= 0; d--) {
              const k = rest % dims[d];
              rest = (rest - k) / dims[d];
              src += (ranges[d].start + k * ranges[d].step) * strides[d];
            }
            return x.data[src];
          });
          setConst(dims, data, x.type);
          return true;
        }
        case 'Concat': {
          const parts = c.filter((p): p is Const => !!p && numel(p.dims) > 0);
          const axis = normalizeAxis(int('axis', 0), parts[0].dims.length, where);
          const outer = numel(parts[0].dims.slice(0, axis));
          const data: number[] = [];
          for (let o = 0; o < outer; o++)
            for (const p of parts) {
              const run = numel(p.dims.slice(axis));
              for (let k = 0; k < run; k++) data.push(p.data[o * run + k]);
            }
          const dims = [...parts[0].dims];
          dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
          setConst(dims, data, parts[0].type);
          return true;
        }
        case 'Reshape':
        case 'Flatten':
        case 'Squeeze':
        case 'Unsqueeze':
          setConst(reshapedDims(x.dims), x.data, x.type);
          return true;
        case 'Transpose': {
          const perm = ints(
            'perm',
            x.dims.map((_, i) => x.dims.length - 1 - i),
          );
          setConst(
            perm.map((p) => x.dims[p]),
            Array.from(transposeIndex(x.dims, perm), (i) => x.data[i]),
            x.type,
          );
          return true;
        }
        case 'Add':
        case 'Sub':
        case 'Mul':
        case 'Div': {
          const [a, b] = c as Const[];
          const dims = broadcastShapes(a.dims, b.dims);
          const ia = broadcastIndex(a.dims, dims),
            ib = broadcastIndex(b.dims, dims);
          const integer = isInt(a.type) && isInt(b.type);
          const f = {
            Add: (p: number, q: number) => p + q,
            Sub: (p: number, q: number) => p - q,
            Mul: (p: number, q: number) => p * q,
            Div: (p: number, q: number) => (integer ? Math.trunc(p / q) : p / q),
          }[node.op_type as 'Add'];
          setConst(
            dims,
            Array.from(ia, (_, i) => f(a.data[ia[i]], b.data[ib[i]])),
            a.type,
          );
          return true;
        }
        case 'Neg':
          setConst(
            x.dims,
            x.data.map((v) => -v),
            x.type,
          );
          return true;
        case 'Range': {
          const [start, limit, delta] = c.map((p) => p!.data[0]);
          const n = Math.max(Math.ceil((limit - start) / delta), 0);
          setConst(
            [n],
            Array.from({ length: n }, (_, i) => start + i * delta),
            x.type,
          );
          return true;
        }
        case 'QuantizeLinear':
        case 'DequantizeLinear':
          quantizeConstant(c as Const[]);
          return true;
        default:
          return false;
      }
    }

    /** ONNX shape of a Reshape/Flatten/Squeeze/Unsqueeze output. */
    function reshapedDims(dims: number[]): number[] {
      const rank = dims.length;
      switch (node.op_type) {
        case 'Flatten': {
          const axis = normalizeAxis(int('axis', 1), rank + 1, where);
          return [numel(dims.slice(0, axis)), numel(dims.slice(axis))];
        }
        case 'Squeeze': {
          const axes = axesOf(
            rank,
            dims.flatMap((d, i) => (d === 1 ? [i] : [])),
          );
          for (const a of axes)
            if (dims[a] !== 1) throw new ModelError(`${where}: cannot squeeze axis ${a} of size ${dims[a]}`);
          return dims.filter((_, i) => !axes.includes(i));
        }
        case 'Unsqueeze': {
          const outRank = rank + (ins[1] ? numel(needConst(ins[1], 'axes').dims) : ints('axes', []).length);
          const axes = axesOf(outRank, []);
          const rest = [...dims];
          return Array.from({ length: outRank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
        }
        default: {
          const target = ins[1] ? Array.from(needConst(ins[1], 'the Reshape shape').data) : ints('shape', []);
          const allowZero = int('allowzero', 0);
          const shape = target.map((d, i) => (d === 0 && !allowZero ? dims[i] : d));
          const known = numel(shape.filter((d) => d !== -1));
          const total = numel(dims);
          const filled = shape.map((d) => (d === -1 ? total / known : d));
          if (
            shape.filter((d) => d === -1).length > 1 ||
            numel(filled) !== total ||
            filled.some((d) => !Number.isInteger(d) || d < 0)
          ) {
            throw new ModelError(`${where}: cannot reshape [${dims}] to [${target}]`);
          }
          return filled;
        }
      }
    }

    /** QuantizeLinear / DequantizeLinear on a constant. */
    function quantizeConstant([x, scaleC, zpC]: Const[]) {
      const rank = x.dims.length;
      const perAxis = numel(scaleC.dims) > 1;
      const axis = perAxis ? normalizeAxis(int('axis', 1), rank, where) : undefined;
      const inner = axis === undefined ? 1 : elementsPerChannel(x.dims, axis);
      const channel = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % x.dims[axis]);
      const zp = (i: number) => (zpC ? zpC.data[zpC.data.length === 1 ? 0 : channel(i)] : 0);
      const scale = (i: number) => Math.fround(scaleC.data[scaleC.data.length === 1 ? 0 : channel(i)]);
      if (node.op_type === 'QuantizeLinear') {
        const type = zpC?.type ?? UINT8;
        const [lo, hi] = type === INT8 ? [-128, 127] : [0, 255];
        setConst(
          x.dims,
          Array.from(x.data, (v, i) => quantizeOnnx(v, scale(i), zp(i), lo, hi)),
          type,
        );
        return;
      }
      const data = Array.from(x.data, (q, i) => Math.fround((q - zp(i)) * scale(i)));
      // Keep the producer's parameters on symmetric int8 weights; other constants are plain floats.
      const keep = x.type === INT8 && (!zpC || zpC.data.every((z) => z === 0));
      const channels = axis === undefined ? 1 : x.dims[axis];
      const quant: Quant | undefined = keep
        ? {
            scale: Array.from({ length: channels }, (_, k) =>
              Math.fround(scaleC.data[scaleC.data.length === 1 ? 0 : k]),
            ),
            zeroPoint: new Array(channels).fill(0),
            ...(axis === undefined ? {} : { axis }),
          }
        : undefined;
      consts.set(out, { dims: x.dims, data: Float64Array.from(data), type: FLOAT, quant });
    }

    /** Weight tensor for an IR conv/dense: values in the new order, quantization axis moved to `irAxis`. */
    const weightQuant = (w: Const, onnxAxis: number, irAxis: number): Quant | undefined => {
      if (!w.quant) return undefined;
      if (w.quant.scale.length > 1 && w.quant.axis !== onnxAxis)
        throw new ModelError(
          `${where}: weights quantized along axis ${w.quant.axis}; only per-tensor or per-output-channel (axis ${onnxAxis}) is supported`,
        );
      return w.quant.scale.length > 1 ? { ...w.quant, axis: irAxis } : w.quant;
    };

    switch (node.op_type) {
      case 'Constant': {
        const t = attr('value')?.t;
        if (t) consts.set(out, tensorValues(t, where));
        else if (attr('value_float')) setConst([], [attr('value_float').f], FLOAT);
        else if (attr('value_floats'))
          setConst([attr('value_floats').floats.length], attr('value_floats').floats, FLOAT);
        else if (attr('value_int')) setConst([], [num(attr('value_int').i)], INT64);
        else if (attr('value_ints'))
          setConst([attr('value_ints').ints.length], attr('value_ints').ints.map(num), INT64);
        else
          throw new ModelError(`${where}: this Constant form is not supported (value, value_float(s), value_int(s))`);
        return;
      }
      case 'Identity':
      case 'Dropout':
        acts.set(out, needAct(ins[0]));
        return;
      case 'Conv': {
        const a = needAct(ins[0]);
        if (a.shape.length !== 4)
          throw new ModelError(`${where}: only 2-D convolution is supported (input [${a.shape}])`);
        const w = needConst(ins[1], 'the weight');
        if (w.dims.length !== 4) throw new ModelError(`${where}: weights must be a 4-D constant`);
        const [O, Ig, kh, kw] = w.dims;
        const C = a.shape[1];
        const group = int('group', 1);
        if (Ig * group !== C || O % group !== 0)
          throw new ModelError(`${where}: weights [${w.dims}] with group ${group} do not fit ${C} input channels`);
        const strides = ints('strides', [1, 1]) as [number, number];
        const dil = ints('dilations', [1, 1]) as [number, number];
        const pads = windowPads(
          str('auto_pad', 'NOTSET'),
          ints('pads', []),
          [a.shape[2], a.shape[3]],
          strides,
          [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1],
          where,
        );
        const oh = Math.floor((a.shape[2] + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1)) / strides[0]) + 1;
        const ow = Math.floor((a.shape[3] + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1)) / strides[1]) + 1;
        const depthwise = group === C && Ig === 1 && group > 1;
        // A channel-permuted view (e.g. a channel shuffle) is absorbed into the weights' input channels.
        const inputChannel = channelPermutation(a);
        let weights: string;
        if (depthwise) {
          if (inputChannel.some((p, c) => p !== c)) canonical(a, 'a depthwise convolution');
          const wt = new Float32Array(w.data.length);
          for (let o = 0; o < O; o++)
            for (let y = 0; y < kh; y++)
              for (let x = 0; x < kw; x++) wt[(y * kw + x) * O + o] = w.data[(o * kh + y) * kw + x];
          weights = addConst(`${name}/weights`, [1, kh, kw, O], wt, weightQuant(w, 0, 3));
        } else {
          // Grouped (non-depthwise) convolution runs as one dense convolution whose weights are zero outside
          // each group's block: every output channel reads only its group's input channels, as ONNX defines.
          const wt = new Float32Array(O * kh * kw * C);
          const perGroup = O / group;
          for (let o = 0; o < O; o++)
            for (let i = 0; i < Ig; i++)
              for (let y = 0; y < kh; y++)
                for (let x = 0; x < kw; x++) {
                  const c = Math.floor(o / perGroup) * Ig + i;
                  wt[((o * kh + y) * kw + x) * C + inputChannel[c]] = w.data[((o * Ig + i) * kh + y) * kw + x];
                }
          weights = addConst(`${name}/weights`, [O, kh, kw, C], wt, weightQuant(w, 0, 0));
        }
        const opIns = [a.phys, weights];
        const b = constOf(ins[2]);
        if (b) opIns.push(addConst(`${name}/bias`, [O], b.data));
        const attrs = {
          strides,
          dilations: dil,
          pads,
          group: depthwise ? group : 1,
          ...(depthwise ? { multiplier: O / C } : {}),
        };
        emit({ kind: depthwise ? 'depthwise_conv2d' : 'conv2d', inputs: opIns, attrs }, [1, O, oh, ow]);
        return;
      }
      case 'Gemm':
      case 'MatMul': {
        const a = needAct(ins[0]);
        const b = constOf(ins[1]);
        if (!b || b.dims.length !== 2)
          throw new ModelError(`${where}: only an activation times a constant 2-D weight is supported`);
        if (node.op_type === 'Gemm' && int('transA', 0)) throw new ModelError(`${where}: transA is not supported`);
        const transB = node.op_type === 'Gemm' ? int('transB', 0) : 0;
        const alpha = node.op_type === 'Gemm' ? float('alpha', 1) : 1;
        const [K, N] = transB ? [b.dims[1], b.dims[0]] : b.dims;
        if (a.shape[a.shape.length - 1] !== K)
          throw new ModelError(`${where}: input [${a.shape}] does not match weights [${b.dims}]`);
        let x: string;
        let column = (k: number) => k;
        if (a.shape.length === 2 && a.shape[0] === 1) {
          // [1, K], possibly a view (a flattened NHWC map): permute the weight columns instead of the data.
          const map = mapOf(a);
          const stored = new Int32Array(K);
          map.forEach((s, k) => {
            stored[s] = k;
          });
          column = (k) => stored[k];
          x = sameArray(storedOf(a), [1, K])
            ? a.phys
            : view(
                `${name}/flat`,
                { phys: a.phys, shape: [1, K] },
                [1, K],
                Int32Array.from({ length: K }, (_, i) => i),
                `${name}/flatten`,
              ).phys;
        } else {
          x = canonical(a, 'a MatMul');
          if (a.shape.length === 4) throw new ModelError(`${where}: MatMul on a 4-D activation is not supported`);
        }
        const w = new Float32Array(N * K);
        for (let n = 0; n < N; n++)
          for (let k = 0; k < K; k++) w[n * K + k] = alpha * b.data[transB ? n * K + column(k) : column(k) * N + n];
        const q = weightQuant(b, transB ? 0 : 1, 0);
        const opIns = [
          x,
          addConst(
            `${name}/weights`,
            [N, K],
            w,
            q && alpha !== 1 ? { ...q, scale: q.scale.map((s) => Math.fround(s * alpha)) } : q,
          ),
        ];
        const c = constOf(ins[2]);
        if (c) {
          if (numel(c.dims) !== 1 && numel(c.dims) !== N)
            throw new ModelError(`${where}: bias [${c.dims}] must have 1 or ${N} values`);
          const beta = float('beta', 1);
          opIns.push(
            addConst(
              `${name}/bias`,
              [N],
              Array.from({ length: N }, (_, i) => beta * c.data[c.data.length === 1 ? 0 : i]),
            ),
          );
        } else if (ins[2]) throw new ModelError(`${where}: a Gemm bias must be constant`);
        emit({ kind: 'dense', inputs: opIns, attrs: {} }, [...a.shape.slice(0, -1), N]);
        return;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const [ka, kb] = [constOf(ins[0]), constOf(ins[1])];
        let kind = node.op_type.toLowerCase();
        if (kind === 'div') {
          if (!kb) throw new ModelError(`${where}: Div is supported only by a constant`);
          kind = 'mul';
        }
        const k = ka ?? kb;
        if (k) {
          const a = needAct(ka ? ins[1] : ins[0]);
          const operand = node.op_type === 'Div' ? { ...k, data: k.data.map((v) => 1 / v), quant: undefined } : k;
          const c = constLike(operand, a, 'operand');
          emit({ kind, inputs: ka ? [c, a.phys] : [a.phys, c], attrs: {} }, a.shape, a.map, storedOf(a));
          return;
        }
        let [a, b] = [needAct(ins[0]), needAct(ins[1])];
        if (a.map && b.map && sameArray(a.shape, b.shape) && sameArray(a.map, b.map)) {
          emit({ kind, inputs: [a.phys, b.phys], attrs: {} }, a.shape, a.map, storedOf(a));
          return;
        }
        // Different ranks: lift the lower one by leading 1s (a free view when its layout does not change).
        const rank = Math.max(a.shape.length, b.shape.length);
        const lift = (v: Act, tag: string) =>
          v.shape.length === rank
            ? v
            : view(
                `${name}/${tag}`,
                v,
                [...new Array(rank - v.shape.length).fill(1), ...v.shape],
                mapOf(v),
                `${name}/${tag}`,
              );
        [a, b] = [lift(a, 'lhs'), lift(b, 'rhs')];
        emit(
          { kind, inputs: [canonical(a, `${node.op_type}`), canonical(b, `${node.op_type}`)], attrs: {} },
          broadcastShapes(a.shape, b.shape),
        );
        return;
      }
      case 'BatchNormalization': {
        const a = needAct(ins[0]);
        const parts = ins
          .slice(1, 5)
          .map((n, i) => addConst(`${name}/p${i}`, [a.shape[1]], needConst(n, `input ${i + 1}`).data));
        emit(
          {
            kind: 'batchnorm',
            inputs: [canonical(a), ...parts],
            attrs: { epsilon: float('epsilon', 1e-5), axis: storedShape(a.shape).length - 1 },
          },
          a.shape,
        );
        return;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'LeakyRelu':
      case 'Clip': {
        const a = needAct(ins[0]);
        const kind = node.op_type === 'LeakyRelu' ? 'leaky_relu' : node.op_type.toLowerCase();
        const attrs =
          node.op_type === 'LeakyRelu'
            ? { alpha: float('alpha', 0.01) }
            : node.op_type === 'Clip'
              ? {
                  min: constOf(ins[1])?.data[0] ?? float('min', -Infinity),
                  max: constOf(ins[2])?.data[0] ?? float('max', Infinity),
                }
              : {};
        emit({ kind, inputs: [a.phys], attrs }, a.shape, a.map, storedOf(a));
        return;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const a = needAct(ins[0]);
        if (a.shape.length !== 4) throw new ModelError(`${where}: only 2-D pooling is supported`);
        const k = ints('kernel_shape', []) as [number, number];
        const st = ints('strides', [1, 1]) as [number, number];
        if (int('ceil_mode', 0)) throw new ModelError(`${where}: ceil_mode=1 is not supported`);
        if (ints('dilations', [1, 1]).some((d) => d !== 1))
          throw new ModelError(`${where}: pooling dilations are not supported`);
        let x = canonical(a);
        let pads = windowPads(str('auto_pad', 'NOTSET'), ints('pads', []), [a.shape[2], a.shape[3]], st, k, where);
        let [H, W] = [a.shape[2], a.shape[3]];
        if (node.op_type === 'AveragePool' && int('count_include_pad', 0) && pads.some((p) => p > 0)) {
          // Padded taps count as zeros: pad explicitly, then pool without padding.
          const padded = `${name}/padded`;
          [H, W] = [H + pads[0] + pads[2], W + pads[1] + pads[3]];
          newActivation(padded, [1, H, W, a.shape[1]]);
          g.nodes.push({
            name: `${name}/pad`,
            op: {
              kind: 'pad',
              inputs: [x],
              outputs: [padded],
              attrs: { pads: [0, pads[0], pads[1], 0, 0, pads[2], pads[3], 0], value: 0 },
            },
          });
          x = padded;
          pads = [0, 0, 0, 0];
        }
        const oh = Math.floor((H + pads[0] + pads[2] - k[0]) / st[0]) + 1;
        const ow = Math.floor((W + pads[1] + pads[3] - k[1]) / st[1]) + 1;
        emit(
          {
            kind: node.op_type === 'MaxPool' ? 'max_pool' : 'avg_pool',
            inputs: [x],
            attrs: { kernel: k, strides: st, pads },
          },
          [1, a.shape[1], oh, ow],
        );
        return;
      }
      case 'GlobalAveragePool':
      case 'ReduceMean': {
        const a = needAct(ins[0]);
        const rank = a.shape.length;
        const axes =
          node.op_type === 'GlobalAveragePool'
            ? [2, 3]
            : axesOf(
                rank,
                a.shape.map((_, i) => i),
              ).sort();
        const keep = node.op_type === 'GlobalAveragePool' || int('keepdims', 1) === 1;
        if (rank !== 4 || axes.join() !== '2,3')
          throw new ModelError(
            `${where}: ReduceMean is supported over the spatial axes [2,3] of a 4-D tensor (got axes [${axes}] of [${a.shape}])`,
          );
        const C = a.shape[1];
        emit(
          { kind: 'mean', inputs: [canonical(a)], attrs: { axes: [1, 2], keepDims: keep } },
          keep ? [1, C, 1, 1] : [1, C],
        );
        return;
      }
      case 'Flatten':
      case 'Reshape':
      case 'Squeeze':
      case 'Unsqueeze': {
        const a = needAct(ins[0]);
        view(out, a, reshapedDims(a.shape), mapOf(a));
        return;
      }
      case 'Transpose': {
        const a = needAct(ins[0]);
        const perm = ints(
          'perm',
          a.shape.map((_, i) => a.shape.length - 1 - i),
        );
        const map = mapOf(a);
        view(
          out,
          a,
          perm.map((p) => a.shape[p]),
          Int32Array.from(transposeIndex(a.shape, perm), (i) => map[i]),
        );
        return;
      }
      case 'Concat': {
        const parts = ins.map((n) => ({ n, a: actOf(n), k: constOf(n) }));
        const first = parts.find((p) => p.a)!.a!;
        const rank = first.shape.length;
        const axis = normalizeAxis(int('axis', 0), rank, where);
        const names = parts.map((p, i) =>
          p.a ? canonical(p.a, 'Concat') : constLike(p.k!, { phys: '', shape: p.k!.dims }, `part${i}`),
        );
        for (const p of parts) {
          const s = p.a?.shape ?? p.k!.dims;
          if (s.length !== rank || s.some((d, i) => i !== axis && d !== first.shape[i]))
            throw new ModelError(`${where}: input [${s}] does not fit [${first.shape}] along axis ${axis}`);
        }
        const shape = [...first.shape];
        shape[axis] = parts.reduce((s, p) => s + (p.a?.shape ?? p.k!.dims)[axis], 0);
        emit({ kind: 'concat', inputs: names, attrs: { axis: rank === 4 ? NCHW_TO_NHWC.indexOf(axis) : axis } }, shape);
        return;
      }
      case 'Pad': {
        const a = needAct(ins[0]);
        const mode = str('mode', 'constant');
        if (mode !== 'constant') throw new ModelError(`${where}: Pad mode '${mode}' is not supported (constant)`);
        const rank = a.shape.length;
        const raw = ins[1] ? Array.from(needConst(ins[1], 'pads').data) : ints('pads', []);
        const axes = ins[3]
          ? Array.from(needConst(ins[3], 'axes').data).map((x) => normalizeAxis(x, rank, where))
          : a.shape.map((_, i) => i);
        const pads = new Array<number>(2 * rank).fill(0);
        axes.forEach((ax, i) => {
          pads[ax] = raw[i];
          pads[rank + ax] = raw[axes.length + i];
        });
        const value = ins[2] ? needConst(ins[2], 'the pad value').data[0] : float('value', 0);
        if (pads.some((p) => p < 0)) throw new ModelError(`${where}: negative pads (cropping) are not supported`);
        if (pads[0] || pads[rank]) throw new ModelError(`${where}: padding the batch dimension is not supported`);
        if (pads.every((p) => p === 0)) {
          acts.set(out, a);
          return;
        }
        const order = rank === 4 ? NCHW_TO_NHWC : a.shape.map((_, i) => i);
        const shape = a.shape.map((d, i) => d + pads[i] + pads[rank + i]);
        emit(
          {
            kind: 'pad',
            inputs: [canonical(a)],
            attrs: { pads: [...order.map((i) => pads[i]), ...order.map((i) => pads[rank + i])], value },
          },
          shape,
        );
        return;
      }
      case 'Softmax': {
        const a = needAct(ins[0]);
        const rank = a.shape.length;
        // Before opset 13, Softmax normalises over the flattened shape[axis:], not just one axis.
        const axis = normalizeAxis(int('axis', opset >= 13 ? -1 : 1), rank, where);
        const rows = opset >= 13 ? a.shape : [numel(a.shape.slice(0, axis)), numel(a.shape.slice(axis))];
        const rowAxis = opset >= 13 ? axis : 1;
        const K = rows[rowAxis];
        const stride = numel(rows.slice(rowAxis + 1));
        const map = mapOf(a);
        // The device normalises aligned runs of K stored values. Softmax does not care about order within a row,
        // so each logical row must fill one such run (its output keeps the input's map).
        const runOfRow = new Map<number, number>();
        const contiguous = map.every((s, i) => {
          const row = Math.floor(i / (K * stride)) * stride + (i % stride);
          const run = Math.floor(s / K);
          if (!runOfRow.has(row)) runOfRow.set(row, run);
          return runOfRow.get(row) === run;
        });
        if (!contiguous)
          throw new ModelError(
            `${where}: softmax over axis ${axis} of [${a.shape}] is not over contiguous stored values; not supported`,
          );
        const stored = storedOf(a);
        if (stored[stored.length - 1] === K) {
          emit({ kind: 'softmax', inputs: [a.phys], attrs: { axis: -1, beta: 1 } }, a.shape, a.map, stored);
          return;
        }
        const rowsName = `${name}/rows`,
          resultName = `${name}/softmax`;
        newActivation(rowsName, [numel(stored) / K, K]);
        newActivation(resultName, [numel(stored) / K, K]);
        g.nodes.push({
          name: `${name}/to_rows`,
          op: { kind: 'reshape', inputs: [a.phys], outputs: [rowsName], attrs: { shape: [numel(stored) / K, K] } },
        });
        g.nodes.push({
          name,
          op: { kind: 'softmax', inputs: [rowsName], outputs: [resultName], attrs: { axis: -1, beta: 1 } },
        });
        newActivation(out, stored);
        g.nodes.push({
          name: `${name}/from_rows`,
          op: { kind: 'reshape', inputs: [resultName], outputs: [out], attrs: { shape: stored } },
        });
        acts.set(out, { phys: out, shape: a.shape, ...(a.map ? { map: a.map } : {}) });
        return;
      }
      case 'QuantizeLinear': {
        const a = needAct(ins[0]);
        const scale = needConst(ins[1], 'the scale');
        const zp = constOf(ins[2]);
        if (numel(scale.dims) !== 1) throw new ModelError(`${where}: activations must be quantized per tensor`);
        const type = zp?.type ?? UINT8;
        if (type !== INT8 && type !== UINT8)
          throw new ModelError(`${where}: only int8/uint8 quantization is supported`);
        // uint8 with zero point z has the same real values as int8 with zero point z − 128.
        const quant: Quant = {
          scale: [Math.fround(scale.data[0])],
          zeroPoint: [(zp?.data[0] ?? 0) - (type === UINT8 ? 128 : 0)],
        };
        const t = g.tensors.get(a.phys)!;
        if (t.quant && (t.quant.scale[0] !== quant.scale[0] || t.quant.zeroPoint[0] !== quant.zeroPoint[0])) {
          throw new ModelError(`${where}: tensor '${a.phys}' is quantized twice with different parameters`);
        }
        t.quant = quant;
        quantized.set(out, a);
        return;
      }
      case 'DequantizeLinear': {
        const a = quantized.get(ins[0]);
        if (!a)
          throw new ModelError(
            `${where}: DequantizeLinear is supported on constants and on QuantizeLinear outputs only (int8 graph inputs are not)`,
          );
        acts.set(out, a);
        return;
      }
      default:
        throw new ModelError(
          `${where}: ONNX op ${node.op_type} is not supported${allConst ? ' on these constant inputs' : ''} (supported: ${ONNX_OPS.join(', ')})`,
        );
    }

    /** For a (possibly channel-permuted) 4-D view: the stored channel of each ONNX channel. */
    function channelPermutation(a: Act): number[] {
      const [, C, H, W] = a.shape;
      if (!a.map) return Array.from({ length: C }, (_, c) => c);
      const stored = storedOf(a);
      const perm = Array.from({ length: C }, (_, c) => a.map![c * H * W]);
      const ok =
        sameArray(stored, [1, H, W, C]) &&
        a.map.every((s, i) => {
          const c = Math.floor(i / (H * W)),
            hw = i % (H * W);
          return s === hw * C + perm[c];
        });
      if (!ok) canonical(a, 'a convolution');
      return perm;
    }
  });
  g.outputs = (graph.output ?? []).map((o: any) => {
    const a = acts.get(o.name);
    if (!a)
      throw new ModelError(
        `${file}: graph output '${o.name}' is ${consts.has(o.name) ? 'a constant' : 'not computed'}; not supported`,
      );
    if (!a.map || sameArray(a.map, canonicalMap(a.shape))) {
      if (a.shape.length === 4) transposedIo.push(a.phys);
      return a.phys;
    }
    // A view stored in plain row-major order (e.g. NCHW → NHWC by a final Transpose) is returned as it is.
    if (!a.map.every((s, i) => s === i))
      throw new ModelError(
        `${file}: graph output '${o.name}' would need a runtime transpose of [${a.shape}]; not supported (the device has no TRANSPOSE)`,
      );
    if (sameArray(g.tensors.get(a.phys)!.shape, a.shape)) return a.phys;
    const name = g.tensors.has(o.name) ? `${o.name}/output` : o.name;
    newActivation(name, [...a.shape]);
    g.nodes.push({
      name: `${name}/reshape`,
      op: { kind: 'reshape', inputs: [a.phys], outputs: [name], attrs: { shape: [...a.shape] } },
    });
    return name;
  });
  // Callers feed and read these in NHWC order (the ONNX model's NCHW transposed); every other input and output
  // is in the ONNX model's own order.
  g.meta.nhwcFromNchw = transposedIo.join(',');
  return g;
}
