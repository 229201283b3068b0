// Reads a .tflite FlatBuffer into plain objects, with every offset bounds-checked so that a truncated or
// foreign file gives one ModelError instead of garbage or a RangeError deep inside.

import { ModelError } from '../../ir/graph';
import { BuiltinOptions, builtinOperatorName, Field, TFLITE_IDENTIFIER, TYPE_BYTES } from './schema';
import { numel } from '../../ir/shape';

export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  /** TFLite TensorType value (schema.ts TensorType). */
  type: number;
  /** Constant data (little-endian bytes), absent for activations. */
  data?: Uint8Array;
  quantization?: TfliteQuantization;
}

export type OptionValue = number | boolean | number[];

export interface TfliteOperator {
  index: number;
  builtinCode: number;
  /** BuiltinOperator name, or "custom op <code>" for custom operators. */
  opName: string;
  inputs: number[];
  outputs: number[];
  /** The BuiltinOptions union member's fields by schema name, defaults filled in; empty when none. */
  options: Record<string, OptionValue>;
  optionsType: number;
}

export interface TfliteModel {
  version: number;
  description: string;
  subgraphName: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

type Kind = 'byte' | 'bool' | 'int' | 'float' | 'ints';
type OptionSpec = Record<string, [id: number, kind: Kind, dflt: OptionValue]>;

const spec = <T extends Record<string, number>>(ids: T, kinds: { [K in keyof T]: [Kind, OptionValue] }): OptionSpec =>
  Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, [id, kinds[k][0], kinds[k][1]]]));

const F = Field;
const OPTION_SPECS: Record<number, OptionSpec> = {
  [BuiltinOptions.Conv2DOptions]: spec(F.Conv2DOptions, {
    padding: ['byte', 0],
    stride_w: ['int', 0],
    stride_h: ['int', 0],
    fused_activation_function: ['byte', 0],
    dilation_w_factor: ['int', 1],
    dilation_h_factor: ['int', 1],
  }),
  [BuiltinOptions.DepthwiseConv2DOptions]: spec(F.DepthwiseConv2DOptions, {
    padding: ['byte', 0],
    stride_w: ['int', 0],
    stride_h: ['int', 0],
    depth_multiplier: ['int', 0],
    fused_activation_function: ['byte', 0],
    dilation_w_factor: ['int', 1],
    dilation_h_factor: ['int', 1],
  }),
  [BuiltinOptions.Pool2DOptions]: spec(F.Pool2DOptions, {
    padding: ['byte', 0],
    stride_w: ['int', 0],
    stride_h: ['int', 0],
    filter_width: ['int', 0],
    filter_height: ['int', 0],
    fused_activation_function: ['byte', 0],
  }),
  [BuiltinOptions.FullyConnectedOptions]: spec(F.FullyConnectedOptions, {
    fused_activation_function: ['byte', 0],
    weights_format: ['byte', 0],
    keep_num_dims: ['bool', false],
  }),
  [BuiltinOptions.ResizeBilinearOptions]: spec(F.ResizeBilinearOptions, {
    align_corners: ['bool', false],
    half_pixel_centers: ['bool', false],
  }),
  [BuiltinOptions.TransposeConvOptions]: spec(F.TransposeConvOptions, {
    padding: ['byte', 0],
    stride_w: ['int', 0],
    stride_h: ['int', 0],
    fused_activation_function: ['byte', 0],
  }),
  [BuiltinOptions.SoftmaxOptions]: spec(F.SoftmaxOptions, { beta: ['float', 0] }),
  [BuiltinOptions.ConcatenationOptions]: spec(F.ConcatenationOptions, {
    axis: ['int', 0],
    fused_activation_function: ['byte', 0],
  }),
  [BuiltinOptions.AddOptions]: spec(F.AddOptions, { fused_activation_function: ['byte', 0] }),
  [BuiltinOptions.SubOptions]: spec(F.SubOptions, { fused_activation_function: ['byte', 0] }),
  [BuiltinOptions.MulOptions]: spec(F.MulOptions, { fused_activation_function: ['byte', 0] }),
  [BuiltinOptions.ReshapeOptions]: spec(F.ReshapeOptions, { new_shape: ['ints', []] }),
  [BuiltinOptions.ReducerOptions]: spec(F.ReducerOptions, { keep_dims: ['bool', false] }),
  [BuiltinOptions.LeakyReluOptions]: spec(F.LeakyReluOptions, { alpha: ['float', 0] }),
  [BuiltinOptions.MirrorPadOptions]: spec(F.MirrorPadOptions, { mode: ['byte', 0] }),
  [BuiltinOptions.GeluOptions]: spec(F.GeluOptions, { approximate: ['bool', false] }),
  [BuiltinOptions.ResizeNearestNeighborOptions]: spec(F.ResizeNearestNeighborOptions, {
    align_corners: ['bool', false],
    half_pixel_centers: ['bool', false],
  }),
  [BuiltinOptions.GatherOptions]: spec(F.GatherOptions, { axis: ['int', 0], batch_dims: ['int', 0] }),
  [BuiltinOptions.BatchMatMulOptions]: spec(F.BatchMatMulOptions, {
    adj_x: ['bool', false],
    adj_y: ['bool', false],
    asymmetric_quantize_inputs: ['bool', false],
  }),
  [BuiltinOptions.UnidirectionalSequenceLSTMOptions]: spec(F.UnidirectionalSequenceLSTMOptions, {
    fused_activation_function: ['byte', 0],
    cell_clip: ['float', 0],
    proj_clip: ['float', 0],
    time_major: ['bool', false],
    asymmetric_quantize_inputs: ['bool', false],
  }),
};

/** A FlatBuffer table at `pos`: field access by id with bounds checks. */
class Table {
  constructor(
    private readonly r: Reader,
    readonly pos: number,
  ) {}

  private field(id: number): number {
    const vt = this.pos - this.r.i32(this.pos);
    const vtLen = this.r.u16(vt);
    const slot = 4 + 2 * id;
    if (slot >= vtLen) return 0;
    const off = this.r.u16(vt + slot);
    return off ? this.pos + off : 0;
  }
  has(id: number): boolean {
    return this.field(id) !== 0;
  }
  u8(id: number, d = 0): number {
    const p = this.field(id);
    return p ? this.r.u8(p) : d;
  }
  i8(id: number, d = 0): number {
    const p = this.field(id);
    return p ? (this.r.u8(p) << 24) >> 24 : d;
  }
  i32(id: number, d = 0): number {
    const p = this.field(id);
    return p ? this.r.i32(p) : d;
  }
  u32(id: number, d = 0): number {
    const p = this.field(id);
    return p ? this.r.i32(p) >>> 0 : d;
  }
  f32(id: number, d = 0): number {
    const p = this.field(id);
    return p ? this.r.f32(p) : d;
  }
  private ref(id: number): number {
    const p = this.field(id);
    return p ? p + this.r.u32(p) : 0;
  }
  table(id: number): Table | undefined {
    const p = this.ref(id);
    return p ? new Table(this.r, p) : undefined;
  }
  string(id: number): string {
    const p = this.ref(id);
    return p ? this.r.string(p) : '';
  }
  /** Vector of `id`: element count and the position of its first element. */
  vector(id: number, elemBytes: number): { n: number; at: number } {
    const p = this.ref(id);
    if (!p) return { n: 0, at: 0 };
    const n = this.r.u32(p);
    this.r.check(p + 4, n * elemBytes);
    return { n, at: p + 4 };
  }
  ints(id: number): number[] {
    const v = this.vector(id, 4);
    return Array.from({ length: v.n }, (_, i) => this.r.i32(v.at + 4 * i));
  }
  floats(id: number): number[] {
    const v = this.vector(id, 4);
    return Array.from({ length: v.n }, (_, i) => this.r.f32(v.at + 4 * i));
  }
  /** int64 elements that must fit in a double exactly (zero points). */
  longs(id: number): number[] {
    const v = this.vector(id, 8);
    return Array.from({ length: v.n }, (_, i) => this.r.i32(v.at + 8 * i + 4) * 4294967296 + this.r.u32(v.at + 8 * i));
  }
  bytes(id: number): Uint8Array {
    const v = this.vector(id, 1);
    return this.r.slice(v.at, v.n);
  }
  tables(id: number): Table[] {
    const v = this.vector(id, 4);
    return Array.from({ length: v.n }, (_, i) => {
      const p = v.at + 4 * i;
      return new Table(this.r, p + this.r.u32(p));
    });
  }
}

class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(pos: number, n: number): void {
    if (pos < 0 || n < 0 || pos + n > this.bytes.length)
      throw new ModelError(`offset ${pos}+${n} is outside the ${this.bytes.length}-byte file`);
  }
  u8(p: number): number {
    this.check(p, 1);
    return this.view.getUint8(p);
  }
  u16(p: number): number {
    this.check(p, 2);
    return this.view.getUint16(p, true);
  }
  i32(p: number): number {
    this.check(p, 4);
    return this.view.getInt32(p, true);
  }
  u32(p: number): number {
    this.check(p, 4);
    return this.view.getUint32(p, true);
  }
  f32(p: number): number {
    this.check(p, 4);
    return this.view.getFloat32(p, true);
  }
  slice(p: number, n: number): Uint8Array {
    this.check(p, n);
    return this.bytes.subarray(p, p + n);
  }
  string(p: number): string {
    const n = this.u32(p);
    return Buffer.from(this.slice(p + 4, n)).toString('utf8');
  }
  root(): Table {
    return new Table(this, this.u32(0));
  }
}

function readOptions(op: Table, type: number): Record<string, OptionValue> {
  const specFor = OPTION_SPECS[type];
  const t = op.table(Field.Operator.builtin_options);
  if (!specFor || !t) return {};
  const out: Record<string, OptionValue> = {};
  for (const [name, [id, kind, dflt]] of Object.entries(specFor)) {
    if (kind === 'ints') out[name] = t.has(id) ? t.ints(id) : dflt;
    else if (kind === 'float') out[name] = t.f32(id, dflt as number);
    else if (kind === 'int') out[name] = t.i32(id, dflt as number);
    else if (kind === 'bool') out[name] = t.u8(id, dflt ? 1 : 0) !== 0;
    else out[name] = t.i8(id, dflt as number);
  }
  return out;
}

/** Parses a .tflite file (its first subgraph). Throws ModelError for anything that is not a readable TFLite model. */
export function readTflite(bytes: Uint8Array, source = 'model'): TfliteModel {
  if (bytes.length < 8 || Buffer.from(bytes.subarray(4, 8)).toString('latin1') !== TFLITE_IDENTIFIER) {
    throw new ModelError(`${source}: not a TFLite model (no "${TFLITE_IDENTIFIER}" file identifier)`);
  }
  try {
    return parse(new Reader(bytes));
  } catch (e) {
    if (e instanceof ModelError) throw new ModelError(`${source}: malformed or truncated TFLite file: ${e.message}`);
    throw e;
  }
}

function parse(r: Reader): TfliteModel {
  const F = Field;
  const model = r.root();
  const codes = model.tables(F.Model.operator_codes).map((c) => ({
    builtin: Math.max(c.i8(F.OperatorCode.deprecated_builtin_code), c.i32(F.OperatorCode.builtin_code)),
    custom: c.string(F.OperatorCode.custom_code),
  }));
  const buffers = model.tables(F.Model.buffers);
  const subgraphs = model.tables(F.Model.subgraphs);
  if (subgraphs.length === 0) throw new ModelError('the model has no subgraph');
  const sg = subgraphs[0];
  const tensors = sg.tables(F.SubGraph.tensors).map((t, index): TfliteTensor => {
    const bufferIndex = t.u32(F.Tensor.buffer);
    if (bufferIndex >= buffers.length && bufferIndex !== 0)
      throw new ModelError(`tensor ${index} refers to buffer ${bufferIndex} of ${buffers.length}`);
    const buffer = buffers[bufferIndex];
    if (buffer && (buffer.has(F.Buffer.offset) || buffer.has(F.Buffer.size)))
      throw new ModelError(
        `tensor ${index}: buffers stored outside the FlatBuffer (models over 2 GB) are not supported`,
      );
    if (t.has(F.Tensor.sparsity))
      throw new ModelError(
        `tensor ${index} ('${t.string(F.Tensor.name)}') is sparse; Morsel reads dense TFLite tensors only`,
      );
    const data = buffer?.bytes(F.Buffer.data);
    const shape = t.ints(F.Tensor.shape);
    const type = t.i8(F.Tensor.type);
    if (data?.length && TYPE_BYTES[type] && data.length !== numel(shape) * TYPE_BYTES[type]) {
      throw new ModelError(
        `tensor ${index} ('${t.string(F.Tensor.name)}'): ${data.length} bytes of data for shape [${shape}]`,
      );
    }
    const q = t.table(F.Tensor.quantization);
    const scale = q?.floats(F.QuantizationParameters.scale) ?? [];
    return {
      index,
      name: t.string(F.Tensor.name),
      shape,
      type,
      ...(data && data.length ? { data } : {}),
      ...(q && scale.length
        ? {
            quantization: {
              scale,
              zeroPoint: q.longs(F.QuantizationParameters.zero_point),
              quantizedDimension: q.i32(F.QuantizationParameters.quantized_dimension),
            },
          }
        : {}),
    };
  });
  const checkTensor = (i: number, where: string) => {
    if (i < -1 || i >= tensors.length) throw new ModelError(`${where} refers to tensor ${i} of ${tensors.length}`);
    return i;
  };
  const operators = sg.tables(F.SubGraph.operators).map((o, index): TfliteOperator => {
    const codeIndex = o.u32(F.Operator.opcode_index);
    const code = codes[codeIndex];
    if (!code) throw new ModelError(`operator ${index} uses operator code ${codeIndex} of ${codes.length}`);
    const optionsType = o.u8(F.Operator.builtin_options_type);
    return {
      index,
      builtinCode: code.builtin,
      opName: code.custom ? `custom op '${code.custom}'` : builtinOperatorName(code.builtin),
      inputs: o.ints(F.Operator.inputs).map((i) => checkTensor(i, `operator ${index}`)),
      outputs: o.ints(F.Operator.outputs).map((i) => checkTensor(i, `operator ${index}`)),
      optionsType,
      options: readOptions(o, optionsType),
    };
  });
  return {
    version: model.u32(F.Model.version),
    description: model.string(F.Model.description),
    subgraphName: sg.string(F.SubGraph.name),
    tensors,
    operators,
    inputs: sg.ints(F.SubGraph.inputs).map((i) => checkTensor(i, 'subgraph input')),
    outputs: sg.ints(F.SubGraph.outputs).map((i) => checkTensor(i, 'subgraph output')),
  };
}
