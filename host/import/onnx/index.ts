// ONNX (opsets 7–21) → float Graph for batch 1 (a fixed or dynamic batch becomes 1, with a notice when fixed).
//
// One named handler per ONNX op (./ops.ts on activations, ./fold.ts on constants), dispatched by op type; the
// node's attributes are parsed once (./node.ts). Rank-4 activations are stored NHWC while importing: every ONNX
// activation is a *view* of one IR tensor (./layout.ts). Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Slice,
// Split and Gather (constant indices) of activations only compose these views; no data moves. A view is
// materialised for free where it turns out canonical (an IR reshape at most), absorbed into weights where a
// Gemm/MatMul (columns) or a Conv (input channels) reads it, and copied by one GATHER_STRIDED (a runtime
// transpose/slice, OnnxImport.gather) where an op or a graph output must read it in another order. A graph input
// read only by a Transpose is stored in the order that makes the transposed view canonical (TF-style NHWC inputs
// cost nothing), and a graph output whose view is plain row-major is returned as it is. torch's LayerNorm pattern
// is fused into LayerNormalization before import (./fuse-layernorm.ts).
// `graph.meta.nhwcFromNchw` lists the inputs and outputs that are stored as the NHWC transpose of their ONNX (NCHW)
// tensor; `graph.meta.nlcFromNcl` those stored as the [N, L, C] transpose of an [N, C, L] tensor (1-D windows). QDQ models: Q/DQ pairs on activations annotate the IR tensor with `quant`; DequantizeLinear of a constant
// gives a float constant that keeps its scales (weights quantized per output channel keep their axis).

import * as path from 'path';
import { type Graph, ModelError, newGraph, numel } from '../../ir/graph';
import { sameArray } from '../../ir/shape';
import { checkActivation } from '../limits';
import { CONSTANT_FOLDERS } from './fold';
import { fuseLayerNorm, type OnnxNodeProto } from './fuse-layernorm';
import { canonicalMap, channelsLastMap, inversePermutation, storedShape, transposeIndex } from './layout';
import { OnnxImport, OnnxNode } from './node';
import { ONNX_HANDLERS } from './ops';
import { decodeOnnx, FLOAT, num, tensorValues, typeName } from './proto';

/** The ONNX ops Morsel imports on activations. */
export const ONNX_OPS = Object.keys(ONNX_HANDLERS);
/** The ONNX ops Morsel evaluates only when all their inputs are constants (shape arithmetic). */
export const ONNX_CONSTANT_OPS = Object.keys(CONSTANT_FOLDERS).filter((op) => !ONNX_HANDLERS[op]);

const NON_TENSOR_TYPES = ['sequence_type', 'map_type', 'sparse_tensor_type', 'optional_type'];
/** ONNX ops that read a rank-3 activation as a 1-D window over [N, C, L]. */
const WINDOW_OPS = ['Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool'];
/** ONNX ops whose X is time-major ([steps, batch, features]) unless their layout attribute is 1. */
const RECURRENT_OPS = ['LSTM', 'GRU'];
const MIN_OPSET = 7,
  MAX_OPSET = 21;

/** One ONNX node through its handler; an error that does not name the node yet gets its name. */
function importNode(n: OnnxNode): void {
  const foldable = (n.allConst && n.ins.some((i) => i)) || n.opType === 'Shape';
  const fold = foldable ? CONSTANT_FOLDERS[n.opType] : undefined;
  const handler = ONNX_HANDLERS[n.opType];
  if (!fold && !handler)
    throw n.error(
      `ONNX op ${n.opType} is not supported${n.allConst ? ' on these constant inputs' : ''} (supported: ${ONNX_OPS.join(', ')}; on constants only: ${ONNX_CONSTANT_OPS.join(', ')})`,
    );
  if (fold && !n.constOf(n.ins[0]) && n.opType !== 'Shape' && n.opType !== 'Concat')
    throw n.error('its first input is missing');
  try {
    if (fold)
      fold(
        n,
        n.ins.map((i) => n.constOf(i)),
      );
    else handler(n);
  } catch (e) {
    if (e instanceof ModelError && !e.message.startsWith(n.where)) throw n.error(e.message);
    throw e;
  }
}

export function importOnnx(file: string): Graph {
  const model = decodeOnnx(file);
  const graph = model.graph;
  if (!graph || !graph.node?.length) throw new ModelError(`${file}: not an ONNX model (no graph)`);
  const opset = num((model.opset_import ?? []).find((o: any) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset && (opset < MIN_OPSET || opset > MAX_OPSET))
    throw new ModelError(`${file}: opset ${opset} is not supported (${MIN_OPSET}–${MAX_OPSET})`);
  const g = newGraph(path.basename(file).replace(/\.onnx$/, ''), 'NHWC');
  g.meta = {
    producer: `${model.producer_name || 'ONNX'} (opset ${opset})`,
    source: path.basename(file),
    sourceLayout: 'NCHW',
  };
  const cx = new OnnxImport(g, opset);
  for (const t of graph.initializer ?? []) cx.defineConst(t.name, tensorValues(t, file), file);
  const { consts, acts } = cx;

  /** Graph inputs and outputs whose IR data is the NHWC transpose of the ONNX (NCHW) tensor. */
  const transposedIo: string[] = [];
  /** Graph inputs and outputs of 1-D windows whose IR data is the [N, L, C] transpose of the ONNX [N, C, L] tensor. */
  const transposed1D: string[] = [];
  const inputs = (graph.input ?? []).filter((i: any) => !consts.has(i.name));
  if (!inputs.length) throw new ModelError(`${file}: the graph has no inputs`);
  for (const input of inputs) {
    const tensorType = input.type?.tensor_type;
    if (!tensorType) {
      const kind = NON_TENSOR_TYPES.find((k) => input.type?.[k]);
      throw new ModelError(
        `${file}: input '${input.name}' is ${kind ? `a ${kind.replace('_type', '').replace('_', ' ')}` : 'not a tensor (no type)'}; only tensor inputs are supported`,
      );
    }
    if (tensorType.elem_type && tensorType.elem_type !== FLOAT)
      throw new ModelError(
        `${file}: input '${input.name}' is ${typeName(tensorType.elem_type)}; only float32 inputs are supported`,
      );
    const dims = tensorType.shape?.dim ?? [];
    // Any fixed or symbolic leading batch compiles for batch 1 (the device runs one sample per invoke); shapes
    // downstream are re-inferred from it, and a Reshape that spells out the old batch gets 1 (./reshape.ts).
    // The X of a time-major (layout 0) LSTM/GRU is [steps, batch, features]: its batch is axis 1.
    const batchAxis = (graph.node as OnnxNodeProto[]).some(
      (n) =>
        RECURRENT_OPS.includes(n.op_type) &&
        n.input?.[0] === input.name &&
        !n.attribute?.some((a) => a.name === 'layout' && num(a.i) === 1),
    )
      ? 1
      : 0;
    const batch = dims.length > batchAxis ? num(dims[batchAxis].dim_value) : 1;
    if (batch > 1) {
      if (cx.batch > 1 && cx.batch !== batch)
        throw new ModelError(`${file}: inputs have batch sizes ${cx.batch} and ${batch}; one batch size expected`);
      cx.batch = batch;
      g.meta.notice = `input '${input.name}' has batch size ${batch}: compiled for batch 1`;
    }
    const shape = dims.map((d: any, i: number) => (i === batchAxis ? 1 : num(d.dim_value)));
    if (shape.some((d: number) => !(d >= 1)))
      throw new ModelError(
        `${file}: input '${input.name}' needs static dimensions after the batch (got [${dims.map((d: any) => d.dim_param || num(d.dim_value))}])`,
      );
    checkActivation(shape, `${file}: input '${input.name}'`);
    g.inputs.push(input.name);
    // An input read only by a Transpose (an NHWC input turned NCHW, as TF exporters write) is stored so that the
    // transposed view is the canonical one: the Transpose costs nothing and the caller feeds the data as it is.
    const users = graph.node.filter((n: any) => (n.input ?? []).includes(input.name));
    const perm: number[] | undefined =
      users.length === 1 && users[0].op_type === 'Transpose'
        ? users[0].attribute?.find((a: any) => a.name === 'perm')?.ints.map(num)
        : undefined;
    if (perm && perm.length === shape.length && [...perm].sort().every((p, i) => p === i)) {
      const transposed = perm.map((p) => shape[p]);
      const map = new Int32Array(numel(shape));
      const outMap = canonicalMap(transposed);
      transposeIndex(shape, perm).forEach((src, j) => {
        map[src] = outMap[j];
      });
      cx.newActivation(input.name, storedShape(transposed));
      acts.set(input.name, { phys: input.name, shape, map });
      continue;
    }
    // A [N, C, L] input of 1-D convolutions or pooling is stored channels-last, as they read it.
    if (shape.length === 3 && users.some((n: { op_type: string }) => WINDOW_OPS.includes(n.op_type))) {
      cx.newActivation(input.name, [shape[0], shape[2], shape[1]]);
      acts.set(input.name, { phys: input.name, shape, map: channelsLastMap(shape) });
      transposed1D.push(input.name);
      continue;
    }
    cx.newActivation(input.name, storedShape(shape));
    acts.set(input.name, { phys: input.name, shape });
    if (shape.length === 4) transposedIo.push(input.name);
  }

  const nodeList: OnnxNodeProto[] = graph.node;
  const constantNodes = new Map(nodeList.filter((n) => n.op_type === 'Constant').map((n) => [n.output?.[0], n]));
  const constant = (name: string) => {
    const t = constantNodes.get(name)?.attribute?.find((a) => a.name === 'value')?.t;
    return consts.get(name)?.data ?? (t ? tensorValues(t, file).data : undefined);
  };
  const outputNames: string[] = (graph.output ?? []).map((o: { name: string }) => o.name);
  fuseLayerNorm(nodeList, outputNames, constant).forEach((node, index) => importNode(new OnnxNode(cx, node, index)));

  g.outputs = (graph.output ?? []).map((o: any) => {
    const a = acts.get(o.name);
    if (!a)
      throw new ModelError(
        `${file}: graph output '${o.name}' is ${consts.has(o.name) ? 'a constant' : 'not computed'}; not supported`,
      );
    if (cx.isCanonical(a)) {
      if (a.shape.length === 4) transposedIo.push(a.phys);
      return a.phys;
    }
    if (a.shape.length === 3 && a.map && sameArray(a.map, channelsLastMap(a.shape))) {
      transposed1D.push(a.phys);
      return a.phys;
    }
    const name = g.tensors.has(o.name) ? `${o.name}/output` : o.name;
    const where = `${file}: graph output '${o.name}'`;
    // A view stored in plain row-major order (e.g. NCHW → NHWC by a final Transpose) is returned as it is (an IR
    // reshape at most); any other view is copied into canonical order by a GATHER_STRIDED.
    const map = a.map ?? canonicalMap(a.shape);
    if (map.every((s, i) => s === i)) return cx.gather(a, map, [...a.shape], name, where);
    if (a.shape.length === 4) transposedIo.push(name);
    return cx.gather(a, inversePermutation(canonicalMap(a.shape)), storedShape(a.shape), name, where);
  });
  // Callers feed and read these in NHWC order (the ONNX model's NCHW transposed); every other input and output
  // is in the ONNX model's own order.
  g.meta.nhwcFromNchw = transposedIo.join(',');
  if (transposed1D.length) g.meta.nlcFromNcl = transposed1D.join(',');
  return g;
}
