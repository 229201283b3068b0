// .msl bytes → QModel, validating identifier, version and CRC32 first.

import type { OpCodeName, OptionsByOp, QModel, QOp, QTensor, WeightBits } from '../ir/qmodel';
import { crc32Update } from './crc32';
import { morselSchema } from './fbs';
import { BlobFormatError, decodeRoot, rootFieldPosition } from './flatbuffer';
import { FORMAT_VERSION } from './format';
import { ROUNDING_MODES, type RoundingMode } from '../quantize/fixedpoint';
import { decodeWeights, packableWeights, WEIGHT_LAYOUTS } from './weights';
import { numel } from '../ir/shape';

type Obj = Record<string, any>;

/** CRC over the file with the CRC field's own four bytes read as zero. */
function blobCrc(bytes: Uint8Array, crcAt: number): number {
  let c = crc32Update(0, bytes, 0, crcAt);
  c = crc32Update(c, new Uint8Array(4));
  return crc32Update(c, bytes, crcAt + 4, bytes.length);
}

export function decodeModel(bytes: Uint8Array): QModel {
  const schema = morselSchema();
  const root = decodeRoot(schema, bytes) as Obj;
  if (!(root.version >= 1 && root.version <= FORMAT_VERSION))
    throw new BlobFormatError(`blob format version ${root.version}, this Morsel reads versions 1 to ${FORMAT_VERSION}`);
  const crcAt = rootFieldPosition(schema, bytes, 'crc32');
  if (crcAt < 0) throw new BlobFormatError('blob has no CRC32');
  const actual = blobCrc(bytes, crcAt);
  if (actual !== root.crc32)
    throw new BlobFormatError(
      `CRC32 mismatch: stored ${hex(root.crc32)}, computed ${hex(actual)} (the file is corrupt)`,
    );
  const buffers = (root.buffers ?? []) as Obj[];
  const opNames = schema.enums.get('OpCode')!.values;
  const codeName = (v: number) => [...opNames].find(([, x]) => x === v)?.[0];
  const packedTensors = new Set<number>();
  const tensors: QTensor[] = (root.tensors ?? []).map((t: Obj, i: number) => {
    const type = t.type === 1 ? 'int32' : 'int8';
    if (!(t.shape ?? []).every((d: number) => d >= 1))
      throw new BlobFormatError(`tensor ${i} has shape [${t.shape}]: every dimension must be positive`);
    let data: Int8Array | Int32Array | undefined;
    const layout = WEIGHT_LAYOUTS[t.weight_layout];
    const bits = t.weight_bits as WeightBits;
    if (!layout || ![8, 4, 2].includes(bits))
      throw new BlobFormatError(`tensor ${i} has weight layout ${t.weight_layout} at ${t.weight_bits} bits`);
    const packed = layout !== 'dense' || bits !== 8;
    if (packed) packedTensors.add(i);
    if (t.buffer >= 0) {
      const raw: Uint8Array | null = buffers[t.buffer]?.data ?? null;
      if (!raw) throw new BlobFormatError(`tensor ${i} refers to missing buffer ${t.buffer}`);
      if (packed) {
        const shape: number[] = t.shape ?? [];
        if (type !== 'int8' || shape.length < 2)
          throw new BlobFormatError(`tensor ${i}: only int8 weights of rank 2 or more can be packed`);
        data = decodeWeights(
          { layout, bits, stored: t.stored_values, runBits: t.run_bits, bytes: raw },
          numel(shape),
          shape[0],
          `tensor ${i}`,
        );
      } else {
        const want = (t.shape ?? []).reduce((a: number, b: number) => a * b, 1) * (type === 'int32' ? 4 : 1);
        if (raw.length !== want)
          throw new BlobFormatError(`tensor ${i} has shape [${t.shape ?? []}] but ${raw.length} bytes of data`);
        const copy = raw.slice();
        data = type === 'int32' ? new Int32Array(copy.buffer, 0, copy.length >> 2) : new Int8Array(copy.buffer);
      }
    } else if (packed) throw new BlobFormatError(`tensor ${i} is an activation with a weight layout`);
    return {
      name: t.name ?? `t${i}`,
      shape: t.shape ?? [],
      type,
      scale: t.scale ?? [],
      zeroPoint: t.zero_point ?? (t.buffer >= 0 ? (t.scale ?? []).map(() => 0) : []),
      quantizedDimension: t.quantized_dimension,
      data,
      arenaOffset: t.arena_offset,
      ...(bits !== 8 ? { weightBits: bits } : {}),
    };
  });
  const ops: QOp[] = (root.operators ?? []).map((o: Obj, i: number) => {
    const opcode = codeName(o.opcode) as OpCodeName | undefined;
    if (!opcode) throw new BlobFormatError(`operator ${i} has unknown opcode ${o.opcode}`);
    return {
      opcode,
      inputs: o.inputs ?? [],
      outputs: o.outputs ?? [],
      options: (o.options ?? null) as OptionsByOp[typeof opcode],
      name: o.name ?? `op${i}`,
    } as QOp;
  });
  const inputs: number[] = root.inputs ?? [];
  const outputs: number[] = root.outputs ?? [];
  const inRange = (t: number) => Number.isInteger(t) && t >= 0 && t < tensors.length;
  for (const [what, list] of [
    ['model input', inputs],
    ['model output', outputs],
    ...ops.flatMap((op, i) => [
      [`operator ${i} input`, op.inputs],
      [`operator ${i} output`, op.outputs],
    ]),
  ] as [string, number[]][]) {
    const bad = list.find((t) => !inRange(t));
    if (bad !== undefined) throw new BlobFormatError(`${what} refers to tensor ${bad}; the blob has ${tensors.length}`);
  }
  const packable = packableWeights({ tensors, ops } as QModel);
  for (const i of packedTensors) {
    if (!packable.has(i))
      throw new BlobFormatError(`tensor ${i} is packed but is not the weights of a FULLY_CONNECTED or CONV_2D`);
  }
  return {
    name: root.name ?? '',
    producer: root.producer ?? '',
    rounding: roundingMode(root.rounding),
    tensors,
    ops,
    inputs,
    outputs,
    arenaBytes: root.arena_bytes,
  };
}

const hex = (x: number) => '0x' + (x >>> 0).toString(16).padStart(8, '0');

function roundingMode(value: number): RoundingMode {
  const mode = ROUNDING_MODES.find((m) => morselSchema().enums.get('Rounding')!.values.get(m.toUpperCase()) === value);
  if (!mode) throw new BlobFormatError(`unknown rounding mode ${value}`);
  return mode;
}
