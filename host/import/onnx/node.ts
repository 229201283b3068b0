// The importer's state for one ONNX graph, and one node as its handler sees it: attributes parsed once, inputs,
// output, and the helpers every handler shares (constants, activation views, emitting IR ops).

import { broadcastIndex } from '../../interp/int8/broadcast';
import { broadcastShapes, type Graph, ModelError, numel, type Op, type Quant } from '../../ir/graph';
import { sameArray } from '../../ir/shape';
import { checkActivation, checkShape, ElementBudget } from '../limits';
import {
  type Act,
  canonicalMap,
  inversePermutation,
  NCHW_TO_NHWC,
  normalizeAxis,
  storedShape,
  stridedView,
  transposeIndex,
} from './layout';
import { type Const, num, tensorValues } from './proto';

export class OnnxImport {
  readonly consts = new Map<string, Const>();
  readonly acts = new Map<string, Act>();
  /** Outputs of QuantizeLinear on activations: int8 values only a DequantizeLinear may read. */
  readonly quantized = new Map<string, Act>();
  readonly budget = new ElementBudget();
  /** The model's own fixed batch size, when it was not 1: the graph is compiled for batch 1. */
  batch = 1;

  constructor(
    readonly g: Graph,
    readonly opset: number,
  ) {}

  addConst(name: string, shape: number[], data: ArrayLike<number>, quant?: Quant): string {
    this.g.tensors.set(name, {
      name,
      dtype: 'float32',
      shape,
      data: Float32Array.from(data),
      ...(quant ? { quant } : {}),
    });
    return name;
  }
  newActivation(name: string, shape: number[]): void {
    checkActivation(shape, `activation '${name}'`);
    this.g.tensors.set(name, { name, dtype: 'float32', shape });
  }
  storedOf(a: Act): number[] {
    return this.g.tensors.get(a.phys)!.shape;
  }
  /** Whether view `a` is its whole IR tensor in canonical layout (so an op may read the tensor as it is). */
  isCanonical(a: Act): boolean {
    return !a.map || (sameArray(a.map, canonicalMap(a.shape)) && numel(this.storedOf(a)) === numel(a.shape));
  }
  /**
   * IR tensor `name` of shape `stored` holding view `a`'s elements in `order` (order[j]: the logical element at j):
   * `a`'s own tensor when it already holds them so (an IR reshape at most), else one GATHER_STRIDED copy, or, for
   * elements no single strided view reads (Gather with uneven indices, a wrap Pad), one per strided piece joined by
   * CONCATENATION. This is where a view becomes a runtime transpose, slice or gather.
   */
  gather(a: Act, order: Int32Array, stored: number[], name: string, where: string): string {
    const map = a.map ?? canonicalMap(a.shape);
    const src = Int32Array.from(order, (l) => map[l]);
    if (src.every((s, i) => s === i) && numel(this.storedOf(a)) === src.length) {
      if (sameArray(this.storedOf(a), stored)) return a.phys;
      this.newActivation(name, stored);
      this.g.nodes.push({ name, op: { kind: 'reshape', inputs: [a.phys], outputs: [name], attrs: { shape: stored } } });
      return name;
    }
    this.gatherPieces(a.phys, src, stored, name, where);
    return name;
  }
  /** Emits IR tensor `name` ([stored]) with y[i] = phys[src[i]]: one strided view, else strided pieces concatenated. */
  private gatherPieces(phys: string, src: Int32Array, stored: number[], name: string, where: string): void {
    this.newActivation(name, stored);
    const view = stridedView(src);
    if (view) {
      this.g.nodes.push({ name, op: { kind: 'gather_strided', inputs: [phys], outputs: [name], attrs: view } });
      return;
    }
    const split = fewestStridedRuns(src, stored);
    if (!split)
      throw new ModelError(`${where}: reading [${stored}] here needs a gather no strided pieces make; not supported`);
    const parts = split.runs.map(([start, end], k) => {
      const shape = stored.map((d, i) => (i === split.axis ? end - start : d));
      const part = `${name}/part${k}`;
      this.gatherPieces(phys, sliceAlong(src, stored, split.axis, start, end), shape, part, where);
      return part;
    });
    this.g.nodes.push({ name, op: { kind: 'concat', inputs: parts, outputs: [name], attrs: { axis: split.axis } } });
  }
  /**
   * A constant's values, counted against the element budget. Its dims must hold exactly its values: handlers
   * loop over the dims (a folded constant whose dims claimed 10^9 output channels over 36 values spun a
   * Conv's weight loop for minutes before its bias check refused it).
   */
  defineConst(name: string, c: Const, where: string): void {
    const dims = checkShape(c.dims, `${where}: constant '${name}'`, true);
    if (numel(dims) !== c.data.length)
      throw new ModelError(`${where}: constant '${name}' has ${c.data.length} values for shape [${dims}]`);
    this.budget.take(c.data.length, where);
    this.consts.set(name, c);
  }
}

/** The elements of `src` ([shape], row-major) whose coordinate along `axis` is in [start, end). */
function sliceAlong(src: Int32Array, shape: number[], axis: number, start: number, end: number): Int32Array {
  const size = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  const outer = src.length / (size * inner);
  const out = new Int32Array(outer * (end - start) * inner);
  let at = 0;
  for (let o = 0; o < outer; o++)
    for (let j = start; j < end; j++)
      out.set(src.subarray((o * size + j) * inner, (o * size + j + 1) * inner), at++ * inner);
  return out;
}

/** Whether every element of `b` is its element of `a` plus `step`. */
const shiftedBy = (a: Int32Array, b: Int32Array, step: number) => a.every((v, i) => b[i] - v === step);

/**
 * The axis of `shape` along which `src` splits into the fewest (but more than one) runs [start, end), each run
 * stepping evenly along the axis (every slice its predecessor plus one constant step), so that what splits it along
 * the other axes stays strided along this one; undefined when no axis splits.
 */
function fewestStridedRuns(src: Int32Array, shape: number[]): { axis: number; runs: [number, number][] } | undefined {
  let best: { axis: number; runs: [number, number][] } | undefined;
  shape.forEach((size, axis) => {
    const slice = (j: number) => sliceAlong(src, shape, axis, j, j + 1);
    const runs: [number, number][] = [];
    for (let start = 0; start < size; ) {
      let end = start + 1;
      const step = end < size ? slice(end)[0] - slice(start)[0] : 0;
      while (end < size && shiftedBy(slice(end - 1), slice(end), step)) end++;
      runs.push([start, end]);
      start = end;
    }
    if (runs.length > 1 && (!best || runs.length < best.runs.length)) best = { axis, runs };
  });
  return best;
}

type Attribute = {
  f?: number;
  i?: unknown;
  s?: Uint8Array;
  t?: unknown;
  floats?: number[];
  ints?: unknown[];
  strings?: Uint8Array[];
};

export class OnnxNode {
  readonly name: string;
  readonly where: string;
  readonly opType: string;
  readonly ins: string[];
  readonly out: string;
  /** Every output (Split has several). */
  readonly outs: string[];
  private readonly attributes = new Map<string, Attribute>();

  constructor(
    readonly cx: OnnxImport,
    node: any,
    index: number,
  ) {
    this.opType = node.op_type;
    this.name = node.name || `${node.op_type}_${index}`;
    this.where = `node ${index} '${this.name}' (${node.op_type})`;
    this.ins = node.input ?? [];
    this.outs = node.output ?? [];
    // Optional outputs may be empty names (an LSTM read only for Y_h); `out` is the first one computed.
    this.out = this.outs.find((o) => o) ?? '';
    if (!this.out) throw this.error('has no output');
    for (const a of node.attribute ?? []) this.attributes.set(a.name, a);
  }

  error(message: string): ModelError {
    return new ModelError(`${this.where}: ${message}`);
  }
  has(k: string): boolean {
    return this.attributes.has(k);
  }
  ints(k: string, d: number[]): number[] {
    const a = this.attributes.get(k);
    return a ? (a.ints ?? []).map(num) : d;
  }
  int(k: string, d: number): number {
    const a = this.attributes.get(k);
    return a ? num(a.i) : d;
  }
  float(k: string, d: number): number {
    const a = this.attributes.get(k);
    return a ? (a.f ?? 0) : d;
  }
  floats(k: string): number[] | undefined {
    return this.attributes.get(k)?.floats;
  }
  str(k: string, d: string): string {
    const a = this.attributes.get(k);
    return a ? Buffer.from(a.s ?? []).toString() : d;
  }
  strs(k: string): string[] {
    return (this.attributes.get(k)?.strings ?? []).map((b) => Buffer.from(b).toString());
  }
  tensorAttr(k: string): Const | undefined {
    const t = this.attributes.get(k)?.t;
    return t ? tensorValues(t, this.where) : undefined;
  }
  /** Spatial attribute pairs (kernel, strides, dilations) of a 2-D window: positive integers. */
  pair(k: string, d: [number, number]): [number, number] {
    const v = this.ints(k, d);
    if (v.length !== 2 || v.some((x) => !Number.isSafeInteger(x) || x < 1 || x > 1 << 16))
      throw this.error(`${k} [${v}] must be two positive integers`);
    return [v[0], v[1]];
  }

  constOf(n: string | undefined): Const | undefined {
    return n ? this.cx.consts.get(n) : undefined;
  }
  needConst(n: string | undefined, what: string): Const {
    const c = this.constOf(n);
    if (!c) throw this.error(`${what} must be a constant`);
    return c;
  }
  actOf(n: string): Act | undefined {
    if (this.cx.quantized.has(n))
      throw this.error('reads the int8 output of a QuantizeLinear; only DequantizeLinear is supported there');
    return this.cx.acts.get(n);
  }
  needAct(n: string): Act {
    const a = this.actOf(n);
    if (!a)
      throw this.error(
        `input '${n}' is ${this.cx.consts.has(n) ? 'a constant; only activations are supported here' : 'not defined'}`,
      );
    return a;
  }
  get allConst(): boolean {
    return this.ins.every((n) => !n || this.cx.consts.has(n));
  }
  /** A shape this node is about to materialise: checked before anything is allocated. */
  sized(dims: number[]): number[] {
    return checkShape(dims, this.where, true);
  }
  setConst(dims: number[], data: ArrayLike<number>, type: number): void {
    this.cx.defineConst(this.out, { dims, data: Float64Array.from(data), type }, this.where);
  }
  /** Axes from the `axes` attribute (older opsets) or the second input (newer). */
  axesOf(rank: number, d: number[]): number[] {
    const a = this.ins[1] ? Array.from(this.needConst(this.ins[1], 'axes').data) : this.ints('axes', d);
    return a.map((x) => normalizeAxis(x, rank, this.where));
  }

  private gathers = 0;
  /** The IR tensor of an activation in canonical layout: a transposed or sliced view is copied by GATHER_STRIDED. */
  canonical(a: Act): string {
    if (this.cx.isCanonical(a)) return a.phys;
    return this.cx.gather(
      a,
      inversePermutation(canonicalMap(a.shape)),
      storedShape(a.shape),
      `${this.name}/gather${this.gathers++}`,
      this.where,
    );
  }
  /** The IR tensor of an activation with its elements in plain row-major (ONNX) order, shaped `stored`. */
  rowMajor(a: Act, stored = a.shape): string {
    const order = Int32Array.from({ length: numel(a.shape) }, (_, i) => i);
    return this.cx.gather(a, order, [...stored], `${this.name}/gather${this.gathers++}`, this.where);
  }
  mapOf(a: Act): Int32Array {
    return a.map ?? canonicalMap(a.shape);
  }
  /** Defines `outName` as a view of `a` with ONNX shape `shape` and element map `map`, materialising it when canonical. */
  view(outName: string, a: Act, shape: number[], map: Int32Array, nodeName = this.name): Act {
    let v: Act;
    if (!sameArray(map, canonicalMap(shape)) || numel(this.cx.storedOf(a)) !== map.length)
      v = { phys: a.phys, shape, map };
    else if (sameArray(this.cx.storedOf(a), storedShape(shape))) v = { phys: a.phys, shape };
    else {
      this.cx.newActivation(outName, storedShape(shape));
      this.cx.g.nodes.push({
        name: nodeName,
        op: { kind: 'reshape', inputs: [a.phys], outputs: [outName], attrs: { shape: storedShape(shape) } },
      });
      v = { phys: outName, shape };
    }
    this.cx.acts.set(outName, v);
    return v;
  }
  /** Emits an op whose output is a new activation with ONNX shape `shape` (a view with `map` for element-wise ops on views). */
  emit(op: Omit<Op, 'outputs'>, shape: number[], map?: Int32Array, stored = storedShape(shape)): void {
    this.cx.newActivation(this.out, stored);
    this.cx.g.nodes.push({ name: this.name, op: { ...op, outputs: [this.out] } as Op });
    this.cx.acts.set(this.out, { phys: this.out, shape, ...(map ? { map } : {}) });
  }
  /** Emits an IR op between two new tensors named after this node (the steps of a lowering). */
  step(suffix: string, op: Omit<Op, 'outputs'>, stored: number[]): string {
    const name = `${this.name}/${suffix}`;
    this.cx.newActivation(name, stored);
    this.cx.g.nodes.push({ name, op: { ...op, outputs: [name] } as Op });
    return name;
  }
  /** A constant operand of an element-wise op, laid out like activation `a` (broadcastable to it). */
  constLike(k: Const, a: Act, tag: string): string {
    const cname = `${this.name}/${tag}`;
    const outShape = broadcastShapes(a.shape, k.dims);
    if (!sameArray(outShape, a.shape))
      throw this.error(`constant [${k.dims}] would broadcast activation [${a.shape}] to a larger shape; not supported`);
    if (this.cx.isCanonical(a)) {
      const quant = k.quant?.scale.length === 1 ? k.quant : undefined;
      if (a.shape.length !== 4) return this.cx.addConst(cname, k.dims, k.data, quant);
      const dims4 = [...new Array(4 - k.dims.length).fill(1), ...k.dims];
      const idx = transposeIndex(dims4, NCHW_TO_NHWC);
      return this.cx.addConst(
        cname,
        storedShape(dims4),
        Array.from(idx, (i) => k.data[i]),
        quant,
      );
    }
    // A transposed view: spell the constant out at full size in the stored order.
    const full = broadcastIndex(k.dims, a.shape);
    const stored = new Float32Array(numel(this.cx.storedOf(a)));
    this.mapOf(a).forEach((s, i) => {
      stored[s] = k.data[full[i]];
    });
    return this.cx.addConst(cname, this.cx.storedOf(a), stored);
  }
  /** Weight tensor for an IR conv/dense: quantization axis moved from `onnxAxis` to `irAxis`. */
  weightQuant(w: Const, onnxAxis: number, irAxis: number): Quant | undefined {
    if (!w.quant) return undefined;
    if (w.quant.scale.length > 1 && w.quant.axis !== onnxAxis)
      throw this.error(
        `weights quantized along axis ${w.quant.axis}; only per-tensor or per-output-channel (axis ${onnxAxis}) is supported`,
      );
    return w.quant.scale.length > 1 ? { ...w.quant, axis: irAxis } : w.quant;
  }
  /** For a (possibly channel-permuted) 4-D view: the stored channel of each ONNX channel; undefined for other views. */
  channelPermutation(a: Act): number[] | undefined {
    const [, C, H, W] = a.shape;
    if (!a.map) return Array.from({ length: C }, (_, c) => c);
    const stored = this.cx.storedOf(a);
    const perm = Array.from({ length: C }, (_, c) => a.map![c * H * W]);
    const ok =
      sameArray(stored, [1, H, W, C]) &&
      a.map.every((s, i) => {
        const c = Math.floor(i / (H * W)),
          hw = i % (H * W);
        return s === hw * C + perm[c];
      });
    return ok ? perm : undefined;
  }
}
