// `morsel inspect`: what a blob holds, per layer and in total.

import { storedWeightsOf } from '../blob/weights';
import { blobLayouts, type SourceLayout, sourceShapeOf } from '../import/boundary';
import { bytesOf, type QModel } from '../ir/qmodel';
import { macsOf, totalMacs } from '../ir/macs';

export interface LayerReport {
  index: number;
  name: string;
  op: string;
  inputs: number[][];
  output: number[];
  params: Record<string, number | string>;
  macs: number;
  /** Bytes of the layer's constants in the blob (weights as stored, biases). */
  weight_bytes: number;
  /** How the weights are stored: bits and layout (schema WeightLayout), e.g. "int4 run_length/3"; '' without weights. */
  weight_storage: string;
  arena_offset: number;
  arena_bytes: number;
  input_scale: number | null;
  output_scale: number;
  output_zero_point: number;
}

/** A model input or output: its stored (NHWC) shape, and the shape and layout its source model's user holds it in. */
interface BoundaryTensor {
  shape: number[];
  source_shape: number[];
  /** NCHW / NCL when the source model's user holds it channels-first; null when as stored. */
  source_layout: string | null;
  scale: number;
  zero_point: number;
}

export interface InspectReport {
  name: string;
  producer: string;
  rounding: string;
  flash_bytes: number;
  arena_bytes: number;
  weight_bytes: number;
  macs: number;
  inputs: BoundaryTensor[];
  outputs: BoundaryTensor[];
  layers: LayerReport[];
}

function summarize(options: unknown): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  if (!options) return out;
  for (const [k, v] of Object.entries(options as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.length <= 4 ? `[${v.join(',')}]` : `[${v.length} values]`;
    else out[k] = v as number;
  }
  return out;
}

export function inspectModel(model: QModel, flashBytes: number): InspectReport {
  const stored = storedWeightsOf(model);
  const blobBytes = (i: number) => stored.get(i)?.bytes.length ?? bytesOf(model.tensors[i]);
  const storage = (i: number | undefined) => {
    const t = i === undefined ? undefined : model.tensors[i];
    if (!t?.data || t.type !== 'int8') return '';
    const s = stored.get(i!);
    return s ? `int${s.bits} ${s.layout}${s.runBits ? `/${s.runBits}` : ''}` : 'int8 dense';
  };
  const layouts = blobLayouts(model);
  const io = (i: number, layout: SourceLayout): BoundaryTensor => ({
    shape: model.tensors[i].shape,
    source_shape: sourceShapeOf(model.tensors[i].shape, layout),
    source_layout: layout ?? null,
    scale: model.tensors[i].scale[0],
    zero_point: model.tensors[i].zeroPoint[0],
  });
  const layers = model.ops.map((op, index): LayerReport => {
    const out = model.tensors[op.outputs[0]];
    const x = model.tensors[op.inputs[0]];
    return {
      index,
      name: op.name,
      op: op.opcode,
      inputs: op.inputs.map((i) => model.tensors[i].shape),
      output: out.shape,
      params: summarize(op.options),
      macs: macsOf(model, op),
      weight_bytes: op.inputs.filter((i) => model.tensors[i].data).reduce((a, i) => a + blobBytes(i), 0),
      weight_storage: storage(op.inputs.find((i) => model.tensors[i].data && model.tensors[i].type === 'int8')),
      arena_offset: out.arenaOffset,
      arena_bytes: bytesOf(out),
      input_scale: x ? x.scale[0] : null,
      output_scale: out.scale[0],
      output_zero_point: out.zeroPoint[0],
    };
  });
  return {
    name: model.name,
    producer: model.producer,
    rounding: model.rounding,
    flash_bytes: flashBytes,
    arena_bytes: model.arenaBytes,
    weight_bytes: model.tensors.reduce((a, t, i) => a + (t.data ? blobBytes(i) : 0), 0),
    macs: totalMacs(model),
    inputs: model.inputs.map((i) => io(i, layouts.input)),
    outputs: model.outputs.map((i) => io(i, layouts.output)),
    layers,
  };
}

/** Both layouts of an input or output: the source model's (what run, eval and convert read) and the blob's. */
const boundaryShapes = (t: BoundaryTensor) =>
  t.source_layout
    ? `[${t.source_shape.join('x')}] ${t.source_layout} (stored [${t.shape.join('x')}] ${t.source_layout === 'NCL' ? 'NLC' : 'NHWC'})`
    : `[${t.shape.join('x')}]`;

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatInspect(r: InspectReport): string {
  const rows = [
    ['#', 'op', 'name', 'output', 'MACs', 'weights', 'storage', 'arena @', 'bytes', 'out scale/zp', 'params'],
  ];
  for (const l of r.layers) {
    rows.push([
      String(l.index),
      l.op,
      l.name.slice(0, 24),
      `[${l.output.join('x')}]`,
      fmt(l.macs),
      fmt(l.weight_bytes),
      l.weight_storage,
      String(l.arena_offset),
      fmt(l.arena_bytes),
      `${l.output_scale.toPrecision(4)}/${l.output_zero_point}`,
      Object.entries(l.params)
        .filter(([k]) => !/multiplier|shift|table/.test(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
        .slice(0, 80),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
  return [
    `model ${r.name}  (${r.producer}, ${r.rounding} rounding)`,
    ...r.inputs.map((t) => `input  ${boundaryShapes(t)} scale ${t.scale} zp ${t.zero_point}`),
    ...r.outputs.map((t) => `output ${boundaryShapes(t)} scale ${t.scale} zp ${t.zero_point}`),
    '',
    ...lines,
    '',
    `flash ${fmt(r.flash_bytes)} bytes (weights ${fmt(r.weight_bytes)})  arena ${fmt(r.arena_bytes)} bytes  ${fmt(r.macs)} MACs`,
  ].join('\n');
}
