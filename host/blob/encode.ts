// QModel → .msl bytes (a FlatBuffer per schema/morsel.fbs), deterministic, with version and CRC32 set.

import { bytesOf, OPTIONS_TABLE, QModel, QTensor } from '../ir/qmodel';
import { crc32 } from './crc32';
import { morselSchema } from './fbs';
import { encodeRoot, rootFieldPosition } from './flatbuffer';
import { FORMAT_VERSION } from './format';

function tensorBytes(t: QTensor): Uint8Array {
  const d = t.data!;
  if (d.length * d.BYTES_PER_ELEMENT !== bytesOf(t)) {
    throw new Error(`tensor '${t.name}': ${d.length} elements of data for shape [${t.shape}]`);
  }
  // Both host and device are little-endian, as FlatBuffers is.
  return new Uint8Array(d.buffer, d.byteOffset, d.length * d.BYTES_PER_ELEMENT);
}

export function encodeModel(model: QModel): Uint8Array {
  const buffers: { data: Uint8Array }[] = [];
  const tensors = model.tensors.map((t) => {
    let buffer = -1;
    if (t.data) {
      buffer = buffers.length;
      buffers.push({ data: tensorBytes(t) });
    }
    return {
      name: t.name,
      shape: t.shape,
      type: t.type === 'int32' ? 1 : 0,
      scale: t.scale,
      zero_point: t.zeroPoint,
      quantized_dimension: t.quantizedDimension,
      buffer,
      arena_offset: t.data ? -1 : t.arenaOffset,
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
    version: FORMAT_VERSION,
    crc32: 0xffffffff, // placeholder so the field is present; patched below
    rounding: model.rounding === 'single' ? 1 : 0,
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
