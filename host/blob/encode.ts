// QModel → .msl bytes (a FlatBuffer per schema/morsel.fbs), deterministic, with version and CRC32 set.

import { bytesOf, OPTIONS_TABLE, QModel, QTensor } from '../ir/qmodel';
import { crc32 } from './crc32';
import { morselSchema } from './fbs';
import { encodeRoot, rootFieldPosition } from './flatbuffer';
import { FORMAT_VERSION, FORMAT_VERSION_DENSE, FORMAT_VERSION_PACKED } from './format';
import { type OptimizeGoal, storedWeightsOf, WEIGHT_LAYOUTS, type WeightLayout } from './weights';

function tensorBytes(t: QTensor): Uint8Array {
  const d = t.data!;
  if (d.length * d.BYTES_PER_ELEMENT !== bytesOf(t)) {
    throw new Error(`tensor '${t.name}': ${d.length} elements of data for shape [${t.shape}]`);
  }
  // Both host and device are little-endian, as FlatBuffers is.
  return new Uint8Array(d.buffer, d.byteOffset, d.length * d.BYTES_PER_ELEMENT);
}

/**
 * `optimize` chooses the weights' layouts (./weights, default balanced); `layout` stores every packable weight in
 * that layout instead (tests and experiments).
 */
export function encodeModel(model: QModel, opts: { layout?: WeightLayout; optimize?: OptimizeGoal } = {}): Uint8Array {
  const buffers: { data: Uint8Array }[] = [];
  const stored = storedWeightsOf(model, opts.layout, opts.optimize);
  const tensors = model.tensors.map((t, i) => {
    let buffer = -1;
    const s = stored.get(i);
    if (t.data) {
      buffer = buffers.length;
      buffers.push({ data: s ? s.bytes : tensorBytes(t) });
    }
    return {
      name: t.name,
      shape: t.shape,
      type: t.type === 'int32' ? 1 : 0,
      scale: t.scale,
      zero_point:
        t.data && t.zeroPoint.length === t.scale.length && t.zeroPoint.every((z) => z === 0) ? undefined : t.zeroPoint,
      quantized_dimension: t.quantizedDimension,
      buffer,
      arena_offset: t.data ? -1 : t.arenaOffset,
      weight_bits: s?.bits ?? 8,
      weight_layout: s ? WEIGHT_LAYOUTS.indexOf(s.layout) : 0,
      stored_values: s && s.layout !== 'dense' ? s.stored : 0,
      run_bits: s?.runBits ?? 4,
    };
  });
  const operators = model.ops.map((op) => {
    const table = OPTIONS_TABLE[op.opcode];
    return {
      opcode: codeOf(op.opcode),
      inputs: op.inputs,
      outputs: op.outputs,
      name: op.name,
      ...(table ? { options_type: table, options: op.options } : {}),
    };
  });
  const bytes = encodeRoot(morselSchema(), {
    // The oldest version that reads the blob right: an older runtime would run a 'tflite' blob in double rounding.
    version:
      model.rounding === 'tflite'
        ? FORMAT_VERSION
        : [...stored.values()].every((s) => s.layout === 'dense' && s.bits === 8)
          ? FORMAT_VERSION_DENSE
          : FORMAT_VERSION_PACKED,
    crc32: 0xffffffff, // placeholder so the field is present; patched below
    rounding: morselSchema().enums.get('Rounding')!.values.get(model.rounding.toUpperCase())!,
    name: model.name,
    producer: model.producer,
    tensors,
    operators,
    buffers,
    inputs: model.inputs,
    outputs: model.outputs,
    arena_bytes: model.arenaBytes,
  });
  const at = rootFieldPosition(morselSchema(), bytes, 'crc32');
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, 0, true);
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, crc32(bytes), true);
  return bytes;
}

function codeOf(name: string): number {
  const v = morselSchema().enums.get('OpCode')!.values.get(name);
  if (v === undefined) throw new Error(`opcode ${name} is not in the schema`);
  return v;
}
