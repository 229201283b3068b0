// The ONNX protobuf messages Morsel reads (official field numbers), decoded with protobufjs, and TensorProto values.

import * as fs from 'fs';
import * as protobuf from 'protobufjs';
import { ModelError, numel, type Quant } from '../../ir/graph';
import { checkShape } from '../limits';

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
        strings: { rule: 'repeated', type: 'bytes', id: 9 },
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
    TypeProto: {
      fields: {
        tensor_type: { type: 'TypeProtoTensor', id: 1 },
        // Read only to name them in a refusal: Morsel's graph inputs are tensors.
        sequence_type: { type: 'bytes', id: 4 },
        map_type: { type: 'bytes', id: 5 },
        sparse_tensor_type: { type: 'bytes', id: 8 },
        optional_type: { type: 'bytes', id: 9 },
      },
    },
    TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
    Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
  },
};

// TensorProto.DataType values Morsel reads.
export const FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  DOUBLE = 11,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10;

/** Every TensorProto.DataType by name (through opset 21's int4/uint4 and float8 types), for refusals that name it. */
const TYPE_NAMES = [
  'undefined',
  'float',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'double',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
];
export const typeName = (type: number) => TYPE_NAMES[type] ?? `data type ${type}`;

/** A constant: ONNX dims, values as doubles (exact for every supported type), its ONNX type, QDQ parameters. */
export interface Const {
  dims: number[];
  data: Float64Array;
  type: number;
  quant?: Quant;
}

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));
export const isInt = (type: number) => type !== FLOAT && type !== DOUBLE;

export function decodeOnnx(file: string): any {
  return decodeOnnxBytes(fs.readFileSync(file), file);
}

export function decodeOnnxBytes(bytes: Uint8Array, where: string): any {
  try {
    const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR as protobuf.INamespace);
    return root.lookupType('ModelProto').decode(bytes);
  } catch (e) {
    throw new ModelError(`${where}: not a valid ONNX model (${(e as Error).message})`);
  }
}

const ELEMENT_SIZE: Record<number, number> = { [FLOAT]: 4, [INT32]: 4, [INT64]: 8, [DOUBLE]: 8, [INT8]: 1, [UINT8]: 1 };

export function tensorValues(t: any, where: string): Const {
  const dims = checkShape((t.dims ?? []).map(num), `${where}: tensor '${t.name}'`, true);
  const n = numel(dims);
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length ? t.raw_data : undefined;
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const type = t.data_type;
  const size = ELEMENT_SIZE[type] ?? 0;
  if (!size)
    throw new ModelError(
      `${where}: tensor '${t.name}' is ${typeName(type)}; supported: float, int8, uint8, int32, int64, double`,
    );
  if (dv && dv.byteLength < n * size) throw new ModelError(`${where}: tensor '${t.name}' is truncated`);
  const src = dv
    ? undefined
    : type === FLOAT
      ? t.float_data
      : type === INT64
        ? t.int64_data
        : type === DOUBLE
          ? t.double_data
          : t.int32_data;
  if (!dv && (!src || src.length < n))
    throw new ModelError(`${where}: tensor '${t.name}' has ${src?.length ?? 0} values for shape [${dims}]`);
  const data = new Float64Array(n);
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
    } else data[i] = num(src[i]);
    if (!Number.isFinite(data[i])) throw new ModelError(`${where}: tensor '${t.name}' contains NaN or Inf`);
  }
  return { dims, data, type };
}

/** Encodes a ModelProto-shaped object (as decodeOnnx returns) back to bytes: for tests and the importer fuzzer. */
export function encodeOnnx(model: object): Uint8Array {
  const type = protobuf.Root.fromJSON(ONNX_DESCRIPTOR as protobuf.INamespace).lookupType('ModelProto');
  return type.encode(type.fromObject(model)).finish();
}
