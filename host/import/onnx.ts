// ONNX (opsets 11–17) → float Graph, parsed with protobufjs from a descriptor of the ONNX messages Morsel
// reads (official field numbers). Batch 1. NCHW activations are converted to NHWC while importing: conv
// weights OIHW → [O,kh,kw,I] (depthwise [1,kh,kw,O]), and a Gemm after a flattened NCHW feature map gets its
// weight columns permuted so no runtime transpose is needed.

import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { Graph, ModelError, newGraph, Padding } from '../ir/graph';

const ONNX_DESCRIPTOR = {
  nested: {
    ModelProto: { fields: { ir_version: { type: 'int64', id: 1 }, producer_name: { type: 'string', id: 2 }, opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 }, graph: { type: 'GraphProto', id: 7 } } },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 }, name: { type: 'string', id: 2 }, initializer: { rule: 'repeated', type: 'TensorProto', id: 5 }, input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 }, output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 } } },
    NodeProto: { fields: { input: { rule: 'repeated', type: 'string', id: 1 }, output: { rule: 'repeated', type: 'string', id: 2 }, name: { type: 'string', id: 3 }, op_type: { type: 'string', id: 4 }, attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 }, domain: { type: 'string', id: 7 } } },
    AttributeProto: { fields: { name: { type: 'string', id: 1 }, f: { type: 'float', id: 2 }, i: { type: 'int64', id: 3 }, s: { type: 'bytes', id: 4 }, t: { type: 'TensorProto', id: 5 }, floats: { rule: 'repeated', type: 'float', id: 7 }, ints: { rule: 'repeated', type: 'int64', id: 8 } } },
    TensorProto: { fields: { dims: { rule: 'repeated', type: 'int64', id: 1 }, data_type: { type: 'int32', id: 2 }, float_data: { rule: 'repeated', type: 'float', id: 4 }, int32_data: { rule: 'repeated', type: 'int32', id: 5 }, int64_data: { rule: 'repeated', type: 'int64', id: 7 }, name: { type: 'string', id: 8 }, raw_data: { type: 'bytes', id: 9 }, double_data: { rule: 'repeated', type: 'double', id: 10 } } },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } } },
    TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
    Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
  },
};

export const ONNX_OPS = [
  'Conv', 'Gemm', 'MatMul', 'Add', 'BatchNormalization', 'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'Flatten', 'Reshape', 'Softmax', 'Pad', 'Constant', 'Identity', 'Dropout',
];

interface Const { dims: number[]; data: Float64Array }

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

function tensorValues(t: any, where: string): Const {
  const dims = (t.dims ?? []).map(num);
  const n = dims.reduce((a: number, b: number) => a * b, 1);
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length ? t.raw_data : undefined;
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const data = new Float64Array(n);
  const type = t.data_type;
  const size = type === 1 || type === 6 ? 4 : type === 7 || type === 11 ? 8 : type === 3 || type === 2 ? 1 : 0;
  if (!size) throw new ModelError(`${where}: tensor '${t.name}' has data type ${type}; supported: float, int8, uint8, int32, int64, double`);
  if (dv && dv.byteLength < n * size) throw new ModelError(`${where}: tensor '${t.name}' is truncated`);
  for (let i = 0; i < n; i++) {
    if (dv) {
      data[i] = type === 1 ? dv.getFloat32(4 * i, true) : type === 6 ? dv.getInt32(4 * i, true) : type === 7 ? Number(dv.getBigInt64(8 * i, true)) : type === 11 ? dv.getFloat64(8 * i, true) : type === 3 ? dv.getInt8(i) : dv.getUint8(i);
    } else {
      const src = type === 1 ? t.float_data : type === 7 ? t.int64_data : type === 11 ? t.double_data : t.int32_data;
      if (!src || src.length < n) throw new ModelError(`${where}: tensor '${t.name}' has ${src?.length ?? 0} values for shape [${dims}]`);
      data[i] = num(src[i]);
    }
    if (!Number.isFinite(data[i])) throw new ModelError(`${where}: tensor '${t.name}' contains NaN or Inf`);
  }
  return { dims, data };
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
  g.meta = { producer: `${model.producer_name || 'ONNX'} (opset ${opset})`, source: path.basename(file), sourceLayout: 'NCHW' };

  const consts = new Map<string, Const>();
  for (const t of graph.initializer ?? []) consts.set(t.name, tensorValues(t, file));
  /** ONNX (NCHW) shape of every activation. */
  const shapes = new Map<string, number[]>();
  const alias = new Map<string, string>();
  const resolve = (n: string) => alias.get(n) ?? n;
  /** Flattened NCHW feature maps: their [C, H, W] so a consuming Gemm can permute its columns. */
  const flattenedFrom = new Map<string, number[]>();
  const nhwc = (s: number[]) => (s.length === 4 ? [s[0], s[2], s[3], s[1]] : s);
  const addConst = (name: string, shape: number[], data: Float32Array) => g.tensors.set(name, { name, dtype: 'float32', shape, data });

  const inputs = (graph.input ?? []).filter((i: any) => !consts.has(i.name));
  if (inputs.length !== 1) throw new ModelError(`${file}: models with ${inputs.length} graph inputs are not supported (one input)`);
  const dims = inputs[0].type?.tensor_type?.shape?.dim ?? [];
  if (dims.length && num(dims[0].dim_value) > 1) throw new ModelError(`${file}: batch size ${num(dims[0].dim_value)} is not supported; export with batch 1 or a dynamic batch`);
  const inShape = dims.map((d: any, i: number) => (i === 0 ? 1 : num(d.dim_value)));
  if (inShape.some((d: number) => !(d >= 1))) throw new ModelError(`${file}: input '${inputs[0].name}' needs static dimensions (got [${inShape}])`);
  shapes.set(inputs[0].name, inShape);
  g.tensors.set(inputs[0].name, { name: inputs[0].name, dtype: 'float32', shape: nhwc(inShape) });
  g.inputs = [inputs[0].name];

  graph.node.forEach((node: any, index: number) => {
    const name: string = node.name || `${node.op_type}_${index}`;
    const where = `node ${index} '${name}' (${node.op_type})`;
    const attr = (k: string) => (node.attribute ?? []).find((a: any) => a.name === k);
    const ints = (k: string, d: number[]) => (attr(k) ? attr(k).ints.map(num) : d);
    const int = (k: string, d: number) => (attr(k) ? num(attr(k).i) : d);
    const float = (k: string, d: number) => (attr(k) ? attr(k).f : d);
    const ins: string[] = (node.input ?? []).map((s: string) => (s ? resolve(s) : s));
    const out: string = node.output[0];
    const x = ins[0];
    const xs = shapes.get(x);
    const constOf = (n: string | undefined) => (n ? consts.get(n) : undefined);
    const emit = (op: any, outShape: number[]) => {
      shapes.set(out, outShape);
      g.tensors.set(out, { name: out, dtype: 'float32', shape: nhwc(outShape) });
      g.nodes.push({ name, op: { ...op, outputs: [out] } });
    };
    const needActivation = () => {
      if (!xs) throw new ModelError(`${where}: input '${x}' is a constant or unknown; only activations are supported here`);
      return xs;
    };
    switch (node.op_type) {
      case 'Constant': {
        const t = attr('value')?.t;
        if (!t) throw new ModelError(`${where}: only tensor-valued Constant is supported`);
        consts.set(out, tensorValues(t, where));
        return;
      }
      case 'Identity':
      case 'Dropout':
        if (consts.has(x)) consts.set(out, consts.get(x)!);
        else alias.set(out, x);
        return;
      case 'Pad': {
        const pads = constOf(ins[1])?.data ?? Float64Array.from(ints('pads', []));
        if (pads.some((p) => p !== 0)) throw new ModelError(`${where}: non-zero Pad is not supported yet`);
        alias.set(out, x);
        return;
      }
      case 'Conv': {
        const s = needActivation();
        const w = constOf(ins[1]);
        if (!w || w.dims.length !== 4) throw new ModelError(`${where}: weights must be a constant 4-D tensor`);
        const [O, Ig, kh, kw] = w.dims;
        const C = s[1];
        const group = int('group', 1);
        const strides = ints('strides', [1, 1]) as [number, number];
        const dil = ints('dilations', [1, 1]) as [number, number];
        const ek = [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1];
        let pads: Padding;
        const autoPad = attr('auto_pad') ? Buffer.from(attr('auto_pad').s).toString() : 'NOTSET';
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
          const tot = [0, 1].map((k) => Math.max((Math.ceil(s[2 + k] / strides[k]) - 1) * strides[k] + ek[k] - s[2 + k], 0));
          const lo = tot.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
          pads = [lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1]];
        } else {
          const p = ints('pads', [0, 0, 0, 0]);
          pads = [p[0], p[1], p[2], p[3]];
        }
        const oh = Math.floor((s[2] + pads[0] + pads[2] - ek[0]) / strides[0]) + 1;
        const ow = Math.floor((s[3] + pads[1] + pads[3] - ek[1]) / strides[1]) + 1;
        const depthwise = group === C && Ig === 1 && group > 1;
        if (group !== 1 && !depthwise) throw new ModelError(`${where}: grouped convolution (group ${group}) is supported only as depthwise`);
        const wt = new Float32Array(w.data.length);
        for (let o = 0; o < O; o++) for (let i = 0; i < Ig; i++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) {
          const v = w.data[((o * Ig + i) * kh + y) * kw + xx];
          if (depthwise) wt[(y * kw + xx) * O + o] = v;
          else wt[((o * kh + y) * kw + xx) * Ig + i] = v;
        }
        addConst(`${name}/weights`, depthwise ? [1, kh, kw, O] : [O, kh, kw, Ig], wt);
        const opIns = [x, `${name}/weights`];
        const b = constOf(ins[2]);
        if (b) { addConst(`${name}/bias`, [O], Float32Array.from(b.data)); opIns.push(`${name}/bias`); }
        const attrs = { strides, dilations: dil, pads, group, ...(depthwise ? { multiplier: O / C } : {}) };
        emit({ kind: depthwise ? 'depthwise_conv2d' : 'conv2d', inputs: opIns, attrs }, [1, O, oh, ow]);
        return;
      }
      case 'Gemm':
      case 'MatMul': {
        const s = needActivation();
        const b = constOf(ins[1]);
        if (!b || b.dims.length !== 2 || s.length !== 2) throw new ModelError(`${where}: this operand shape is not supported (only a 2-D activation times a constant 2-D weight)`);
        const transB = node.op_type === 'Gemm' ? int('transB', 0) : 0;
        if (node.op_type === 'Gemm' && int('transA', 0)) throw new ModelError(`${where}: transA is not supported`);
        const alpha = node.op_type === 'Gemm' ? float('alpha', 1) : 1;
        const [K, N] = transB ? [b.dims[1], b.dims[0]] : b.dims;
        const chw = flattenedFrom.get(x);
        // Column k of the NCHW-flattened input is at NHWC position (h, w, c).
        const col = (k: number) => {
          if (!chw) return k;
          const [C, H, W] = chw;
          const c = k % C, hw = (k - c) / C;
          return c * H * W + hw;
        };
        const w = new Float32Array(N * K);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = alpha * b.data[transB ? n * K + col(k) : col(k) * N + n];
        addConst(`${name}/weights`, [N, K], w);
        const opIns = [x, `${name}/weights`];
        const c = constOf(ins[2]);
        if (c) {
          const beta = float('beta', 1);
          addConst(`${name}/bias`, [N], Float32Array.from({ length: N }, (_, i) => beta * c.data[c.data.length === 1 ? 0 : i]));
          opIns.push(`${name}/bias`);
        }
        emit({ kind: 'dense', inputs: opIns, attrs: {} }, [1, N]);
        return;
      }
      case 'Add': {
        const [a, b] = ins;
        const prev = g.nodes[g.nodes.length - 1];
        const k = constOf(b) ?? constOf(a);
        const act = consts.has(a) ? b : a;
        if (k && prev?.op.kind === 'dense' && prev.op.outputs[0] === act && prev.op.inputs.length === 2) {
          addConst(`${prev.name}/bias`, [k.data.length], Float32Array.from(k.data));
          (prev.op.inputs as string[]).push(`${prev.name}/bias`);
          alias.set(out, act);
          return;
        }
        const sa = shapes.get(a), sb = shapes.get(b);
        if (sa && sb && sa.join() === sb.join()) {
          emit({ kind: 'add', inputs: [a, b], attrs: {} }, sa);
          return;
        }
        throw new ModelError(`${where}: Add is supported only between same-shape activations or as a bias after MatMul`);
      }
      case 'BatchNormalization': {
        const s = needActivation();
        const parts = ins.slice(1, 5).map((n, i) => {
          const c = constOf(n);
          if (!c) throw new ModelError(`${where}: input ${i + 1} must be constant`);
          addConst(`${name}/p${i}`, [c.data.length], Float32Array.from(c.data));
          return `${name}/p${i}`;
        });
        emit({ kind: 'batchnorm', inputs: [x, ...parts], attrs: { epsilon: float('epsilon', 1e-5), axis: 3 } }, s);
        return;
      }
      case 'Relu': case 'Sigmoid': case 'Tanh':
        emit({ kind: node.op_type.toLowerCase(), inputs: [x], attrs: {} }, needActivation());
        return;
      case 'LeakyRelu':
        emit({ kind: 'leaky_relu', inputs: [x], attrs: { alpha: float('alpha', 0.01) } }, needActivation());
        return;
      case 'Clip': {
        const lo = constOf(ins[1])?.data[0] ?? float('min', -Infinity);
        const hi = constOf(ins[2])?.data[0] ?? float('max', Infinity);
        emit({ kind: 'clip', inputs: [x], attrs: { min: lo, max: hi } }, needActivation());
        return;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const s = needActivation();
        const k = ints('kernel_shape', []) as [number, number];
        const st = ints('strides', [1, 1]) as [number, number];
        const p = ints('pads', [0, 0, 0, 0]);
        if (int('ceil_mode', 0)) throw new ModelError(`${where}: ceil_mode=1 is not supported`);
        if (node.op_type === 'AveragePool' && int('count_include_pad', 0) && p.some((v: number) => v !== 0)) throw new ModelError(`${where}: count_include_pad with padding is not supported`);
        const oh = Math.floor((s[2] + p[0] + p[2] - k[0]) / st[0]) + 1;
        const ow = Math.floor((s[3] + p[1] + p[3] - k[1]) / st[1]) + 1;
        emit({ kind: node.op_type === 'MaxPool' ? 'max_pool' : 'avg_pool', inputs: [x], attrs: { kernel: k, strides: st, pads: [p[0], p[1], p[2], p[3]] } }, [1, s[1], oh, ow]);
        return;
      }
      case 'GlobalAveragePool': {
        const s = needActivation();
        emit({ kind: 'mean', inputs: [x], attrs: { axes: [1, 2], keepDims: true } }, [1, s[1], 1, 1]);
        return;
      }
      case 'Flatten':
      case 'Reshape': {
        const s = needActivation();
        const n = s.reduce((a, b) => a * b, 1);
        if (node.op_type === 'Reshape') {
          const target = constOf(ins[1]);
          if (!target || target.data.length !== 2 || (target.data[1] !== -1 && target.data[1] !== n / s[0])) throw new ModelError(`${where}: only flattening reshapes are supported in this build`);
        } else if (int('axis', 1) !== 1) throw new ModelError(`${where}: Flatten axis ${int('axis', 1)} is not supported`);
        if (s.length === 4 && s[2] * s[3] > 1) flattenedFrom.set(out, [s[1], s[2], s[3]]);
        emit({ kind: 'reshape', inputs: [x], attrs: { shape: [1, n] } }, [1, n]);
        return;
      }
      case 'Softmax':
        emit({ kind: 'softmax', inputs: [x], attrs: { axis: -1, beta: 1 } }, needActivation());
        return;
      default:
        throw new ModelError(`${where}: ONNX op ${node.op_type} is not supported (supported: ${ONNX_OPS.join(', ')})`);
    }
  });
  g.outputs = (graph.output ?? []).map((o: any) => resolve(o.name));
  for (const o of g.outputs) if (!g.tensors.has(o)) throw new ModelError(`${file}: graph output '${o}' is not computed`);
  return g;
}
