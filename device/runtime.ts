// Morsel device runtime: validates a blob, prepares every op once through its kernel's registration (op data in
// views into the blob and one arena), then invoke() is a loop over the kernels' evals with no allocation. One
// source for ES5 and Lua: tensors are (Buf, offset) pairs into the blob or the arena, and target specifics go
// through platform/api. Which kernels there are is the registration table's business (ops.ts, or one generated
// for a model's opcodes): nothing here names an op but the rounding rule.

import { crc32Skipping, crcRelease } from './format/crc32';
import { verifyModel } from './format/verify';
import {
  FILE_IDENTIFIER,
  FORMAT_VERSION,
  Buffer_data,
  Model_arena_bytes,
  Model_buffers,
  Model_crc32,
  Model_inputs,
  Model_operators,
  Model_outputs,
  Model_rounding,
  Model_tensors,
  Model_version,
  Operator_inputs,
  Operator_opcode,
  Operator_options,
  Operator_options_type,
  Operator_outputs,
  Rounding_SINGLE,
  Rounding_TFLITE,
  Tensor_arena_offset,
  Tensor_arena_offset_default,
  Tensor_buffer,
  Tensor_buffer_default,
  Tensor_run_bits,
  Tensor_run_bits_default,
  Tensor_scale,
  Tensor_shape,
  Tensor_stored_values,
  Tensor_type,
  TFLITE_DOUBLE_ROUNDING_OPCODES,
  Tensor_weight_bits,
  Tensor_weight_bits_default,
  Tensor_weight_layout,
  Tensor_zero_point,
  TensorType_INT8,
  TensorType_INT32,
  WeightLayout_DENSE,
} from './format/layout';
import {
  type Blob,
  deref,
  fail,
  failOp,
  fieldI32,
  fieldPos,
  fieldU8,
  fieldVector,
  intVector,
  rdF32,
  rdU8,
  rdU32,
  tableAt,
} from './format/reader';
import {
  allocateScratch,
  isPackedTensor,
  type OpContext,
  type OpRegistration,
  type TensorData,
  type TensorInfo,
} from './op';
import {
  blobInt8,
  blobLength,
  type Buf,
  clockMs,
  copyInput,
  inputLength,
  int32,
  int32Span,
  nativeDotKind,
  newInt8,
  outputHandle,
  publishOutput,
} from './platform/api';

/** intVector as small integers (platform int32), in a fresh array. */
function int32Vector(b: Blob, t: number, vtOff: number): number[] {
  const v = intVector(b, t, vtOff),
    out: number[] = [];
  for (let i = 0; i < v.length; i++) out.push(int32(v[i]));
  return out;
}

function numelOf(shape: number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    if (!(shape[i] >= 1 && shape[i] <= 16777216)) fail('SHAPE', 'bad dimension ' + shape[i]);
    n *= shape[i];
  }
  if (n > 268435456) fail('SHAPE', 'tensor too large');
  return n;
}

class MorselModel {
  inputShape: number[];
  outputShape: number[];
  inputScale: number;
  inputZeroPoint: number;
  outputScale: number;
  outputZeroPoint: number;
  arenaBytes: number;
  /** Set to true to time every op into layerMs (platform clockMs: sub-millisecond on Espruino and NodeMCU). */
  profile: boolean;
  layerMs: number[];
  opCodes: number[];
  /** Op k runs as evals[k](opData[k]). */
  private evals: ((data: any) => void)[];
  private opData: any[];
  private arena: Buf;
  private inputAt: number;
  private inputCount: number;
  private outputAt: number;
  private outputCount: number;
  private output: any;

  constructor(
    evals: ((data: any) => void)[],
    opData: any[],
    opCodes: number[],
    arena: Buf,
    inT: TensorInfo,
    outT: TensorInfo,
    arenaBytes: number,
  ) {
    this.evals = evals;
    this.opData = opData;
    this.arena = arena;
    this.inputAt = inT.arenaOffset;
    this.inputCount = inT.count;
    this.outputAt = outT.arenaOffset;
    this.outputCount = outT.count;
    this.output = outputHandle(arena, outT.arenaOffset, outT.count);
    this.inputShape = inT.shape;
    this.outputShape = outT.shape;
    this.inputScale = inT.scale;
    this.inputZeroPoint = inT.zeroPoint;
    this.outputScale = outT.scale;
    this.outputZeroPoint = outT.zeroPoint;
    this.arenaBytes = arenaBytes;
    this.profile = false;
    this.layerMs = [];
    this.opCodes = opCodes;
    for (let i = 0; i < evals.length; i++) this.layerMs.push(0);
  }

  /**
   * Runs one inference. JS: takes an Int8Array and returns a view into the arena; Lua: takes a string of bytes
   * or a table of int8 values and returns a table. Either is overwritten by the next invoke.
   */
  invoke(input: any): any {
    const n = inputLength(input);
    if (n !== this.inputCount) fail('INPUT', 'input needs ' + this.inputCount + ' values, got ' + n);
    copyInput(input, this.arena, this.inputAt, n);
    const evals = this.evals,
      opData = this.opData;
    for (let k = 0; k < evals.length; k++) {
      const t0 = this.profile ? clockMs() : 0;
      evals[k](opData[k]);
      if (this.profile) this.layerMs[k] = clockMs() - t0;
    }
    publishOutput(this.arena, this.outputAt, this.outputCount, this.output);
    return this.output;
  }
}

function readTensor(b: Blob, t: number): TensorInfo {
  let shape = int32Vector(b, t, Tensor_shape);
  let sc = fieldVector(b, t, Tensor_scale, 4);
  let zp = int32Vector(b, t, Tensor_zero_point);
  return {
    shape: shape,
    type: fieldU8(b, t, Tensor_type, 0),
    scale: sc !== null && sc[1] > 0 ? rdF32(b, sc[0]) : 0,
    zeroPoint: zp.length > 0 ? zp[0] : 0,
    bufferIndex: int32(fieldI32(b, t, Tensor_buffer, Tensor_buffer_default)),
    arenaOffset: int32(fieldI32(b, t, Tensor_arena_offset, Tensor_arena_offset_default)),
    count: int32(numelOf(shape)),
    bits: fieldU8(b, t, Tensor_weight_bits, Tensor_weight_bits_default),
    layout: fieldU8(b, t, Tensor_weight_layout, WeightLayout_DENSE),
    stored: int32(fieldI32(b, t, Tensor_stored_values, 0)),
    runBits: fieldU8(b, t, Tensor_run_bits, Tensor_run_bits_default),
  };
}

function loadModel(blob: any, registrations: OpRegistration[]): MorselModel {
  const bytes = blobInt8(blob);
  const b: Blob = { bytes: bytes, n: blobLength(blob) };
  if (b.n < 24) fail('TRUNCATED', 'blob of ' + b.n + ' bytes');
  for (let i = 0; i < 4; i++) {
    if (rdU8(b, 4 + i) !== FILE_IDENTIFIER.charCodeAt(i)) fail('MAGIC', 'not a Morsel blob (identifier)');
  }
  const root = deref(b, 0);
  const version = int32(fieldI32(b, root, Model_version, 0));
  if (!(version >= 1 && version <= FORMAT_VERSION))
    fail('VERSION', 'blob format ' + version + ', runtime reads 1 to ' + FORMAT_VERSION);
  const crcAt = fieldPos(b, root, Model_crc32);
  if (crcAt < 0) fail('CRC', 'no checksum');
  const stored = rdU32(b, crcAt);
  const crc = crc32Skipping(bytes, b.n, crcAt);
  crcRelease();
  if (crc !== stored) fail('CRC', 'checksum mismatch (corrupt blob)');
  const rounding = fieldU8(b, root, Model_rounding, 0);
  if (rounding > Rounding_TFLITE) fail('ROUNDING', 'unknown rounding mode ' + rounding);
  const arenaBytes = int32(fieldI32(b, root, Model_arena_bytes, 0));
  if (!(arenaBytes >= 0 && arenaBytes <= 16777216)) fail('ARENA', 'arena of ' + arenaBytes + ' bytes');
  // Activations point at `pending` until the arena exists: it is allocated as large as they reach, which a blob
  // may declare larger (a corrupt one, vastly so: allocating that would cost time and memory for nothing).
  const pending = newInt8(0);
  let arenaUsed = 0;

  const bufVec = fieldVector(b, root, Model_buffers, 4);
  const bufPos: number[] = [];
  const bufLen: number[] = [];
  if (bufVec !== null) {
    for (let bi = 0; bi < bufVec[1]; bi++) {
      const d = fieldVector(b, tableAt(b, bufVec[0] + 4 * bi), Buffer_data, 1);
      bufPos.push(d !== null ? int32(d[0]) : 0);
      bufLen.push(d !== null ? d[1] : 0);
    }
  }
  const tVec = fieldVector(b, root, Model_tensors, 4);
  if (tVec === null || tVec[1] === 0) fail('TENSORS', 'no tensors');
  const infos: TensorInfo[] = [];
  const data: TensorData[] = [];
  for (let ti = 0; ti < tVec![1]; ti++) {
    const info = readTensor(b, tableAt(b, tVec![0] + 4 * ti));
    const size = info.count * (info.type === TensorType_INT32 ? 4 : 1);
    let d: TensorData;
    if (info.bufferIndex >= 0) {
      if (info.bufferIndex >= bufPos.length) fail('BUFFER', 'tensor ' + ti + ' refers to a missing buffer');
      const at = bufPos[info.bufferIndex];
      const packed = isPackedTensor(info);
      if (!packed && bufLen[info.bufferIndex] !== size)
        fail('BUFFER', 'tensor ' + ti + ' data does not match its shape');
      d = {
        data: bytes,
        at: at,
        words: info.type === TensorType_INT32 && !packed ? int32Span(bytes, at, info.count) : pending,
        size: bufLen[info.bufferIndex],
      };
    } else {
      if (info.type !== TensorType_INT8 || isPackedTensor(info))
        fail('TYPE', 'activation ' + ti + ' is not plain int8');
      if (!(info.arenaOffset >= 0 && info.arenaOffset + size <= arenaBytes))
        fail('ARENA', 'tensor ' + ti + ' lies outside the arena');
      if (info.arenaOffset + size > arenaUsed) arenaUsed = info.arenaOffset + size;
      d = { data: pending, at: info.arenaOffset, words: pending, size: 0 };
    }
    infos.push(info);
    data.push(d);
  }
  const arena = newInt8(arenaUsed);
  for (let ti = 0; ti < data.length; ti++) if (infos[ti].bufferIndex < 0) data[ti].data = arena;
  const nT = infos.length;
  const tensorIndex = function (v: number): number {
    if (!(v >= 0 && v < nT)) fail('INDEX', 'tensor index ' + v);
    return v;
  };
  const ins = intVector(b, root, Model_inputs);
  const outs = intVector(b, root, Model_outputs);
  if (ins.length !== 1 || outs.length !== 1) fail('IO', 'one input and one output expected');
  const inT = tensorIndex(ins[0]);
  const outT = tensorIndex(outs[0]);
  if (infos[inT].bufferIndex >= 0 || infos[outT].bufferIndex >= 0) fail('IO', 'inputs and outputs must be activations');

  const opVec = fieldVector(b, root, Model_operators, 4);
  const nOps = opVec !== null ? opVec[1] : 0;
  const evals: ((data: any) => void)[] = [],
    opData: any[] = [],
    opCodes: number[] = [],
    opIns: number[][] = [],
    opOuts: number[] = [],
    works: number[] = [];
  const ctx: OpContext = {
    blob: b,
    index: 0,
    code: 0,
    single: false,
    optionsType: 0,
    options: -1,
    inputs: [],
    output: 0,
    tensors: infos,
    data: data,
    dot: nativeDotKind(),
    scratch: { int8: [], int32: [], int8Sizes: [], int32Sizes: [] },
    int8Requests: 0,
    int32Requests: 0,
    work: 1,
  };
  for (let oi = 0; oi < nOps; oi++) {
    const ot = tableAt(b, opVec![0] + 4 * oi);
    const code = fieldU8(b, ot, Operator_opcode, 0);
    const oin = intVector(b, ot, Operator_inputs);
    const oout = intVector(b, ot, Operator_outputs);
    if (oin.length < 1 || oout.length !== 1) failOp('OP', oi, 'has bad inputs/outputs');
    const reg = registrations[code];
    if (reg === undefined) failOp('OPCODE', oi, 'has unknown opcode ' + code);
    for (let pi = 0; pi < oin.length; pi++) {
      if (isPackedTensor(infos[tensorIndex(oin[pi])]) && !(pi === 1 && reg.packedWeights === true))
        failOp('WEIGHTS', oi, 'reads packed tensor ' + oin[pi] + ' (its kernel takes packed weights at input 1 only)');
    }
    const xi = tensorIndex(oin[0]);
    const yi = tensorIndex(oout[0]);
    if (infos[yi].bufferIndex >= 0 || infos[xi].type !== TensorType_INT8) failOp('OP', oi, 'input/output types');
    const optPos = fieldPos(b, ot, Operator_options);
    ctx.index = oi;
    ctx.code = code;
    // Full TFLite keeps double rounding in some ops: bit `code` of the schema's tflite_double_rounding set.
    ctx.single =
      rounding === Rounding_SINGLE ||
      (rounding === Rounding_TFLITE && Math.floor(TFLITE_DOUBLE_ROUNDING_OPCODES / Math.pow(2, code)) % 2 === 0);
    ctx.optionsType = fieldU8(b, ot, Operator_options_type, 0);
    ctx.options = optPos < 0 ? -1 : deref(b, optPos);
    ctx.inputs = oin;
    ctx.output = yi;
    ctx.int8Requests = 0;
    ctx.int32Requests = 0;
    ctx.work = 1;
    opData.push(reg.prepare(ctx));
    evals.push(reg.eval);
    opCodes.push(code);
    opIns.push(oin);
    opOuts.push(yi);
    works.push(ctx.work);
  }
  verifyModel(infos, opIns, opOuts, opCodes, works, inT, outT);
  allocateScratch(ctx.scratch);
  return new MorselModel(evals, opData, opCodes, arena, infos[inT], infos[outT], arenaBytes);
}

/** The runtime's public object over a registration table (opcode → kernel): `Morsel` of the bundle's entry. */
export function runtime(registrations: OpRegistration[]): {
  load: (this: void, blob: any) => MorselModel;
  version: number;
} {
  return {
    load: function (this: void, blob: any): MorselModel {
      return loadModel(blob, registrations);
    },
    version: FORMAT_VERSION,
  };
}
