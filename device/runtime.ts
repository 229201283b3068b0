// Morsel device runtime: validates a blob, prepares every op once (views into the blob and one arena), then
// invoke() is a loop over kernels with no allocation. One source for ES5 and Lua: tensors are (Buf, offset)
// pairs into the blob or the arena, and target specifics go through platform/ (api.d.ts).

interface PreparedOp {
  code: number;
  /** Requantize with single rounding (the model's rounding mode resolved for this op at load). */
  single: boolean;
  x: Buf;
  xOff: number;
  x2: Buf;
  x2Off: number;
  y: Buf;
  yOff: number;
  w: Buf;
  wOff: number;
  bias: Buf;
  leftShift: number;
  inZp2: number;
  /** Native dot product used by this op (DOT_*); for E.convolve the weight and input rows it can take (platform rowViews). */
  dot: number;
  wRows: any[];
  xRows: any[];
  /** Requantization multipliers and shifts, per channel when perChannel; int32 Bufs, in the blob when possible. */
  mult: Buf;
  shift: Buf;
  perChannel: boolean;
  table: number[];
  /** FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D: the multipliers and shifts as prepareRequant's constants (fixedpoint.ts). */
  rq: Buf;
  /** requantizeRow may skip the check that acc·M is within the constants' reach (prepareRequant). */
  rqExact: boolean;
  count: number;
  batches: number;
  depth: number;
  outs: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  padTop: number;
  padLeft: number;
  /** DEPTHWISE_CONV_2D: each output channel's input channel, c / depth multiplier. */
  depthInChannel: Buf;
  /**
   * CONV_2D / DEPTHWISE_CONV_2D: one output pixel's accumulators (one int32 per channel); FULLY_CONNECTED: one row's;
   * pairAcc: CONV_2D's second pixel's. Shared by the ops (shareScratch).
   */
  acc: Buf;
  pairAcc: Buf;
  /**
   * The window's taps: CONV_2D's kH·kW·inC, DEPTHWISE_CONV_2D's kH·kW (of channel 0); tapOffsets are their input
   * offsets from the top-left tap in weight order, patchOffsets (DEPTHWISE_CONV_2D) the same in the gathered patch.
   */
  taps: number;
  tapOffsets: Buf;
  patchOffsets: Buf;
  /**
   * CONV_2D, and DEPTHWISE_CONV_2D at the border: one output pixel's window gathered (kH·kW·inC int8); pairPatch:
   * CONV_2D's second pixel's. Shared by the ops.
   */
  patch: Buf;
  pairPatch: Buf;
  inZp: number;
  outZp: number;
  actMin: number;
  actMax: number;
  packed: PackedWeights | null; // FULLY_CONNECTED / CONV_2D weights stored packed or sparse (kernels/packed-weights.ts)
  // Broadcast loops (ADD/SUB/MUL) and PAD: extents, input/output strides, outermost first (kernels/broadcast.ts, pad.ts).
  dims: number[];
  strideA: number[];
  strideB: number[];
  strideY: number[];
  padBase: number;
  padValue: number;
  xs: Buf[];
  xOffs: number[];
  runs: number[];
  expSum: number[];
}

interface TensorInfo {
  shape: number[];
  type: number;
  scale: number;
  zeroPoint: number;
  buffer: number;
  arenaOffset: number;
  count: number;
  bits: number;
  layout: number;
  stored: number;
  runBits: number;
  packed: PackedWeights | null;
}

/** Where a tensor's values are: int8 in `data` (the blob or the arena) from `at`; int32 constants in `words`. */
interface TensorData {
  data: Buf;
  at: number;
  words: Buf;
}

// Shared defaults of the op-specific arrays below: a prepare assigns its own array, never pushes into these.
const NO_NUMBERS: number[] = [];
const NO_BUFS: Buf[] = [];

/** fieldI32 as a small integer (platform int32): option values that kernels compute indices from. */
function optI32(b: Blob, t: number, vtOff: number, dflt: number): number {
  return int32(fieldI32(b, t, vtOff, dflt));
}

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

// Every op carries all the fields (one shape for V8's inline caches), 63 of them at most: QuickJS grows an object's
// property storage by half again (42, 63, 94 slots), so a 64th would cost every op 31 slots (~2 KB for the CNN).
function newOp(code: number, arena: Buf, single: boolean): PreparedOp {
  return {
    code: code,
    single: single,
    x: arena,
    xOff: 0,
    x2: arena,
    x2Off: 0,
    leftShift: 0,
    inZp2: 0,
    y: arena,
    yOff: 0,
    w: arena,
    wOff: 0,
    bias: arena,
    dot: DOT_NONE,
    wRows: NO_BUFS,
    xRows: NO_BUFS,
    mult: arena,
    shift: arena,
    perChannel: false,
    table: NO_NUMBERS,
    rq: arena,
    rqExact: false,
    count: 0,
    batches: 0,
    depth: 0,
    outs: 0,
    inH: 0,
    inW: 0,
    inC: 0,
    outH: 0,
    outW: 0,
    outC: 0,
    kH: 0,
    kW: 0,
    strideH: 1,
    strideW: 1,
    dilH: 1,
    dilW: 1,
    padTop: 0,
    padLeft: 0,
    depthInChannel: arena,
    acc: arena,
    pairAcc: arena,
    taps: 0,
    tapOffsets: arena,
    patchOffsets: arena,
    patch: arena,
    pairPatch: arena,
    inZp: 0,
    outZp: 0,
    actMin: -128,
    actMax: 127,
    packed: null,
    dims: NO_NUMBERS,
    strideA: NO_NUMBERS,
    strideB: NO_NUMBERS,
    strideY: NO_NUMBERS,
    padBase: 0,
    padValue: 0,
    xs: NO_BUFS,
    xOffs: NO_NUMBERS,
    runs: NO_NUMBERS,
    expSum: NO_NUMBERS,
  };
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
  private ops: PreparedOp[];
  private arena: Buf;
  private inputAt: number;
  private inputCount: number;
  private outputAt: number;
  private outputCount: number;
  private output: any;

  constructor(ops: PreparedOp[], arena: Buf, inT: TensorInfo, outT: TensorInfo, arenaBytes: number) {
    this.ops = ops;
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
    this.opCodes = [];
    for (let i = 0; i < ops.length; i++) {
      this.layerMs.push(0);
      this.opCodes.push(ops[i].code);
    }
  }

  /**
   * Runs one inference. JS: takes an Int8Array and returns a view into the arena; Lua: takes a string of bytes
   * or a table of int8 values and returns a table. Either is overwritten by the next invoke.
   */
  invoke(input: any): any {
    const n = inputLength(input);
    if (n !== this.inputCount) fail('INPUT', 'input needs ' + this.inputCount + ' values, got ' + n);
    copyInput(input, this.arena, this.inputAt, n);
    const ops = this.ops;
    for (let k = 0; k < ops.length; k++) {
      const t0 = this.profile ? clockMs() : 0;
      runOp(ops[k], ops[k].single);
      if (this.profile) this.layerMs[k] = clockMs() - t0;
    }
    publishOutput(this.arena, this.outputAt, this.outputCount, this.output);
    return this.output;
  }
}

function runOp(p: PreparedOp, single: boolean): void {
  let c = p.code;
  if (c === OpCode_FULLY_CONNECTED) {
    if (p.packed !== null) fullyConnectedPacked(p);
    else fullyConnected(p);
  } else if (c === OpCode_CONV_2D && p.packed !== null) conv2dPacked(p);
  else if (c === OpCode_CONV_2D || c === OpCode_DEPTHWISE_CONV_2D) conv2d(p);
  else if (c === OpCode_MAX_POOL_2D) pool2d(p, true);
  else if (c === OpCode_AVERAGE_POOL_2D) pool2d(p, false);
  else if (c === OpCode_RESHAPE) reshape(p);
  else if (c === OpCode_MEAN) meanHW(p, single);
  else if (c === OpCode_ADD || c === OpCode_SUB) broadcastRows(p, single, arithmeticRows);
  else if (c === OpCode_MUL) broadcastRows(p, single, mulRows);
  else if (c === OpCode_SOFTMAX) softmax(p);
  else if (c === OpCode_CONCATENATION) concatenation(p);
  else if (c === OpCode_PAD) pad(p);
  else lookup(p);
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
    buffer: optI32(b, t, Tensor_buffer, Tensor_buffer_default),
    arenaOffset: optI32(b, t, Tensor_arena_offset, Tensor_arena_offset_default),
    count: int32(numelOf(shape)),
    bits: fieldU8(b, t, Tensor_weight_bits, Tensor_weight_bits_default),
    layout: fieldU8(b, t, Tensor_weight_layout, WeightLayout_DENSE),
    stored: optI32(b, t, Tensor_stored_values, 0),
    runBits: fieldU8(b, t, Tensor_run_bits, Tensor_run_bits_default),
    packed: null,
  };
}

function loadModel(blob: any): MorselModel {
  const bytes = blobInt8(blob);
  const b: Blob = { bytes: bytes, n: blobLength(blob) };
  if (b.n < 24) fail('TRUNCATED', 'blob of ' + b.n + ' bytes');
  for (let i = 0; i < 4; i++) {
    if (rdU8(b, 4 + i) !== FILE_IDENTIFIER.charCodeAt(i)) fail('MAGIC', 'not a Morsel blob (identifier)');
  }
  const root = deref(b, 0);
  const version = optI32(b, root, Model_version, 0);
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
  const arenaBytes = optI32(b, root, Model_arena_bytes, 0);
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
    if (info.buffer >= 0) {
      if (info.buffer >= bufPos.length) fail('BUFFER', 'tensor ' + ti + ' refers to a missing buffer');
      const at = bufPos[info.buffer];
      if (isPackedTensor(info)) info.packed = packedWeights(bytes, at, bufLen[info.buffer], info, ti);
      else if (bufLen[info.buffer] !== size) fail('BUFFER', 'tensor ' + ti + ' data does not match its shape');
      d = {
        data: bytes,
        at: at,
        words: info.type === TensorType_INT32 && info.packed === null ? int32Span(bytes, at, info.count) : pending,
      };
    } else {
      if (info.type !== TensorType_INT8 || isPackedTensor(info))
        fail('TYPE', 'activation ' + ti + ' is not plain int8');
      if (!(info.arenaOffset >= 0 && info.arenaOffset + size <= arenaBytes))
        fail('ARENA', 'tensor ' + ti + ' lies outside the arena');
      if (info.arenaOffset + size > arenaUsed) arenaUsed = info.arenaOffset + size;
      d = { data: pending, at: info.arenaOffset, words: pending };
    }
    infos.push(info);
    data.push(d);
  }
  const arena = newInt8(arenaUsed);
  for (let ti = 0; ti < data.length; ti++) if (data[ti].data === pending) data[ti].data = arena;
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
  if (infos[inT].buffer >= 0 || infos[outT].buffer >= 0) fail('IO', 'inputs and outputs must be activations');

  const dot = nativeDotKind();
  const opVec = fieldVector(b, root, Model_operators, 4);
  const ops: PreparedOp[] = [];
  const opIns: number[][] = [],
    opOuts: number[] = [];
  const nOps = opVec !== null ? opVec[1] : 0;
  for (let oi = 0; oi < nOps; oi++) {
    const ot = tableAt(b, opVec![0] + 4 * oi);
    const code = fieldU8(b, ot, Operator_opcode, 0);
    const oin = intVector(b, ot, Operator_inputs);
    const oout = intVector(b, ot, Operator_outputs);
    if (oin.length < 1 || oout.length !== 1) failOp('OP', oi, 'has bad inputs/outputs');
    for (let pi = 0; pi < oin.length; pi++) {
      if (
        infos[tensorIndex(oin[pi])].packed !== null &&
        !(pi === 1 && (code === OpCode_FULLY_CONNECTED || code === OpCode_CONV_2D))
      )
        failOp(
          'WEIGHTS',
          oi,
          'reads packed tensor ' + oin[pi] + ' (only FULLY_CONNECTED/CONV_2D weights may be packed)',
        );
    }
    // Full TFLite's DEPTHWISE_CONV_2D, ADD, SUB and MUL keep double rounding (TFLITE_DOUBLE_ROUNDING_OPS in host/quantize/fixedpoint.ts).
    const p = newOp(
      code,
      arena,
      rounding === Rounding_SINGLE ||
        (rounding === Rounding_TFLITE &&
          code !== OpCode_DEPTHWISE_CONV_2D &&
          !(code >= OpCode_ADD && code <= OpCode_MUL)),
    );
    const xi = tensorIndex(oin[0]);
    const yi = tensorIndex(oout[0]);
    if (infos[yi].buffer >= 0 || infos[xi].type !== TensorType_INT8) failOp('OP', oi, 'input/output types');
    p.x = data[xi].data;
    p.xOff = data[xi].at;
    p.y = data[yi].data;
    p.yOff = data[yi].at;
    p.count = infos[yi].count;
    const optType = fieldU8(b, ot, Operator_options_type, 0);
    const optPos = fieldPos(b, ot, Operator_options);
    const opt = optPos < 0 ? -1 : deref(b, optPos);
    prepareOp(b, p, code, oi, optType, opt, oin, infos, data, xi, yi, tensorIndex, dot);
    ops.push(p);
    opIns.push(oin);
    opOuts.push(yi);
  }
  verifyModel(infos, opIns, opOuts, ops, inT, outT);
  shareScratch(ops);
  return new MorselModel(ops, arena, infos[inT], infos[outT], arenaBytes);
}

/**
 * Ops run one at a time, so they share one patch (CONV_2D / DEPTHWISE_CONV_2D) and one accumulator row (those,
 * and FULLY_CONNECTED's outputs), each as large as the largest, and CONV_2D's second pixel's pair of them (no
 * larger than the convs need: a model without one gets empty ones).
 */
function shareScratch(ops: PreparedOp[]): void {
  let patchSize = 0,
    convRows = 0,
    accSize = 0;
  for (let k = 0; k < ops.length; k++) {
    const p = ops[k];
    if (p.taps > 0 && p.kH * p.kW * p.inC > patchSize) patchSize = p.kH * p.kW * p.inC;
    if (p.taps > 0 && p.outC > convRows) convRows = p.outC;
    if (p.outs > accSize) accSize = p.outs;
  }
  const patch = newInt8(patchSize),
    acc = newInt32(convRows > accSize ? convRows : accSize),
    pairPatch = newInt8(patchSize),
    pairAcc = newInt32(convRows);
  for (let k = 0; k < ops.length; k++) {
    ops[k].patch = patch;
    ops[k].acc = acc;
    ops[k].pairPatch = pairPatch;
    ops[k].pairAcc = pairAcc;
  }
}

/** The offsets of a window's taps (ky, kx, then channels c) from its top-left tap, rows rowStep and columns colStep apart. */
function tapOffsets(p: PreparedOp, channels: number, rowStep: number, colStep: number): Buf {
  const offsets = newInt32(p.kH * p.kW * channels);
  let t = 0;
  for (let ky = 0; ky < p.kH; ky++) {
    for (let kx = 0; kx < p.kW; kx++) {
      for (let c = 0; c < channels; c++) offsets[t + c] = ky * rowStep + kx * colStep + c;
      t += channels;
    }
  }
  return offsets;
}

/** Routes an op's inner dot products through the native one; E.convolve takes arrays, so it gets row views. */
function useNativeDot(
  p: PreparedOp,
  dot: number,
  wRowLength: number,
  wRows: number,
  xRowLength: number,
  xRows: number,
): void {
  p.dot = dot;
  if (dot !== DOT_CONVOLVE) return;
  p.wRows = rowViews(p.w, p.wOff, wRowLength, wRows);
  p.xRows = rowViews(p.x, p.xOff, xRowLength, xRows);
}

function needOptions(oi: number, optType: number, want: number, opt: number): void {
  if (optType !== want || opt < 0) badOptions(oi, 'has the wrong options table');
}

/** Reads an op's multipliers and shifts (one, or one per channel) in place from the blob; depth: the products an output sums. */
function requant(
  b: Blob,
  p: PreparedOp,
  opt: number,
  multOff: number,
  shiftOff: number,
  channels: number,
  depth: number,
  oi: number,
): void {
  const mv = fieldVector(b, opt, multOff, 4),
    sv = fieldVector(b, opt, shiftOff, 4);
  const n = mv !== null ? mv[1] : 0;
  if (mv === null || sv === null || sv[1] !== n || (n !== 1 && n !== channels)) badOptions(oi, 'multipliers');
  p.mult = int32Span(b.bytes, mv![0], n);
  p.shift = int32Span(b.bytes, sv![0], n);
  p.perChannel = n > 1;
  for (let i = 0; i < n; i++) {
    if (!(p.shift[i] >= -31 && p.shift[i] <= 30) || !(p.mult[i] >= 0)) badOptions(oi, 'shift/multiplier out of range');
  }
  prepareRequant(p, channels, depth);
}

/** A Buf of int32 values, for multipliers and shifts that are scalar option fields rather than a vector. */
function int32s(values: number[]): Buf {
  const out = newInt32(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

function clampBounds(p: PreparedOp, lo: number, hi: number, oi: number): void {
  if (!(lo >= -128 && hi <= 127 && lo <= hi)) badOptions(oi, 'activation bounds');
  p.actMin = lo;
  p.actMax = hi;
}

function prepareOp(
  b: Blob,
  p: PreparedOp,
  code: number,
  oi: number,
  optType: number,
  opt: number,
  oin: number[],
  infos: TensorInfo[],
  data: TensorData[],
  xi: number,
  yi: number,
  tensorIndex: (v: number) => number,
  dot: number,
): void {
  let xs = infos[xi].shape,
    ys = infos[yi].shape;
  if (code === OpCode_FULLY_CONNECTED || code === OpCode_CONV_2D || code === OpCode_DEPTHWISE_CONV_2D) {
    if (oin.length !== 3) failOp('OP', oi, 'needs input, weights and bias');
    let wi = tensorIndex(oin[1]),
      bi = tensorIndex(oin[2]);
    if (
      infos[wi].buffer < 0 ||
      infos[wi].type !== TensorType_INT8 ||
      infos[bi].buffer < 0 ||
      infos[bi].type !== TensorType_INT32
    )
      failOp('OP', oi, 'weights/bias types');
    let ws = infos[wi].shape;
    p.w = data[wi].data;
    p.wOff = data[wi].at;
    p.packed = infos[wi].packed;
    p.bias = data[bi].words;
    if (code === OpCode_FULLY_CONNECTED) {
      needOptions(oi, optType, Options_FullyConnectedOptions, opt);
      if (ws.length !== 2) badShape(oi, 'weights must be 2-D');
      p.outs = ws[0];
      p.depth = ws[1];
      const batches = infos[xi].count / p.depth;
      if (batches !== floor(batches) || infos[bi].count !== p.outs || infos[yi].count !== batches * p.outs)
        badShape(oi, 'fully-connected shapes');
      p.batches = int32(batches);
      p.outZp = optI32(b, opt, FullyConnectedOptions_output_zero_point, 0);
      clampBounds(
        p,
        optI32(b, opt, FullyConnectedOptions_activation_min, -128),
        optI32(b, opt, FullyConnectedOptions_activation_max, 127),
        oi,
      );
      requant(
        b,
        p,
        opt,
        FullyConnectedOptions_output_multiplier,
        FullyConnectedOptions_output_shift,
        p.outs,
        p.depth,
        oi,
      );
      if (dot !== DOT_NONE && p.packed === null) useNativeDot(p, dot, p.depth, p.outs, p.depth, p.batches);
      return;
    }
    needOptions(oi, optType, Options_Conv2DOptions, opt);
    if (xs.length !== 4 || ys.length !== 4 || ws.length !== 4 || xs[0] !== 1 || ys[0] !== 1)
      badShape(oi, 'conv tensors must be 4-D, batch 1');
    p.inH = xs[1];
    p.inW = xs[2];
    p.inC = xs[3];
    p.outH = ys[1];
    p.outW = ys[2];
    p.outC = ys[3];
    p.kH = ws[1];
    p.kW = ws[2];
    const depthwise = code === OpCode_DEPTHWISE_CONV_2D;
    const multiplier = optI32(b, opt, Conv2DOptions_depth_multiplier, 1);
    let wOk = depthwise
      ? ws[0] === 1 && ws[3] === p.outC && multiplier >= 1 && p.inC * multiplier === p.outC
      : ws[0] === p.outC && ws[3] === p.inC;
    if (!wOk || infos[bi].count !== p.outC) badShape(oi, 'conv weight shape');
    p.strideH = optI32(b, opt, Conv2DOptions_stride_h, 1);
    p.strideW = optI32(b, opt, Conv2DOptions_stride_w, 1);
    p.dilH = optI32(b, opt, Conv2DOptions_dilation_h, 1);
    p.dilW = optI32(b, opt, Conv2DOptions_dilation_w, 1);
    p.padTop = optI32(b, opt, Conv2DOptions_pad_top, 0);
    p.padLeft = optI32(b, opt, Conv2DOptions_pad_left, 0);
    if (
      !(
        p.strideH >= 1 &&
        p.strideW >= 1 &&
        p.dilH >= 1 &&
        p.dilW >= 1 &&
        p.padTop >= 0 &&
        p.padLeft >= 0 &&
        p.padTop < 256 &&
        p.padLeft < 256
      )
    )
      badOptions(oi, 'strides/pads');
    p.inZp = optI32(b, opt, Conv2DOptions_input_zero_point, 0);
    p.outZp = optI32(b, opt, Conv2DOptions_output_zero_point, 0);
    if (!(p.inZp >= -128 && p.inZp <= 127)) badOptions(oi, 'input zero point');
    clampBounds(
      p,
      optI32(b, opt, Conv2DOptions_activation_min, -128),
      optI32(b, opt, Conv2DOptions_activation_max, 127),
      oi,
    );
    const channels = depthwise ? 1 : p.inC;
    p.taps = p.kH * p.kW * channels;
    requant(b, p, opt, Conv2DOptions_output_multiplier, Conv2DOptions_output_shift, p.outC, p.taps, oi);
    p.tapOffsets = tapOffsets(p, channels, p.dilH * p.inW * p.inC, p.dilW * p.inC);
    if (depthwise) {
      p.patchOffsets = tapOffsets(p, 1, p.kW * p.inC, p.inC);
      p.depthInChannel = newInt32(p.outC);
      for (let c = 0; c < p.outC; c++) p.depthInChannel[c] = floor(c / multiplier);
    }
    // The native paths take an output channel's weights whole, against the gathered patch (kernels/conv2d.ts).
    if (dot !== DOT_NONE && p.packed === null && !depthwise) useNativeDot(p, dot, p.taps, p.outC, 0, 0);
    return;
  }
  if (code === OpCode_MAX_POOL_2D || code === OpCode_AVERAGE_POOL_2D) {
    needOptions(oi, optType, Options_Pool2DOptions, opt);
    if (xs.length !== 4 || ys.length !== 4 || xs[3] !== ys[3] || xs[0] !== 1) badShape(oi, 'pool shapes');
    p.inH = xs[1];
    p.inW = xs[2];
    p.inC = xs[3];
    p.outH = ys[1];
    p.outW = ys[2];
    p.kH = optI32(b, opt, Pool2DOptions_filter_h, 0);
    p.kW = optI32(b, opt, Pool2DOptions_filter_w, 0);
    p.strideH = optI32(b, opt, Pool2DOptions_stride_h, 1);
    p.strideW = optI32(b, opt, Pool2DOptions_stride_w, 1);
    p.padTop = optI32(b, opt, Pool2DOptions_pad_top, 0);
    p.padLeft = optI32(b, opt, Pool2DOptions_pad_left, 0);
    if (
      !(
        p.kH >= 1 &&
        p.kW >= 1 &&
        p.kH <= 256 &&
        p.kW <= 256 &&
        p.strideH >= 1 &&
        p.strideW >= 1 &&
        p.padTop >= 0 &&
        p.padLeft >= 0
      )
    )
      badOptions(oi, 'pool window');
    clampBounds(
      p,
      optI32(b, opt, Pool2DOptions_activation_min, -128),
      optI32(b, opt, Pool2DOptions_activation_max, 127),
      oi,
    );
    return;
  }
  if (code === OpCode_ADD || code === OpCode_SUB) {
    needOptions(oi, optType, Options_ArithmeticOptions, opt);
    prepareBinaryOperands(p, oi, oin, infos, data, tensorIndex, yi);
    p.inZp = optI32(b, opt, ArithmeticOptions_input1_offset, 0);
    p.inZp2 = optI32(b, opt, ArithmeticOptions_input2_offset, 0);
    p.outZp = optI32(b, opt, ArithmeticOptions_output_offset, 0);
    p.leftShift = optI32(b, opt, ArithmeticOptions_left_shift, 0);
    p.mult = int32s([
      optI32(b, opt, ArithmeticOptions_input1_multiplier, 0),
      optI32(b, opt, ArithmeticOptions_input2_multiplier, 0),
      optI32(b, opt, ArithmeticOptions_output_multiplier, 0),
    ]);
    p.shift = int32s([
      optI32(b, opt, ArithmeticOptions_input1_shift, 0),
      optI32(b, opt, ArithmeticOptions_input2_shift, 0),
      optI32(b, opt, ArithmeticOptions_output_shift, 0),
    ]);
    if (
      !(p.leftShift >= 0 && p.leftShift <= 20 && p.inZp >= -127 && p.inZp <= 128 && p.inZp2 >= -127 && p.inZp2 <= 128)
    )
      badOptions(oi, 'offsets');
    for (let k = 0; k < 3; k++)
      if (!(p.shift[k] >= -31 && p.shift[k] <= 0 && p.mult[k] >= 0)) badOptions(oi, 'multipliers');
    clampBounds(
      p,
      optI32(b, opt, ArithmeticOptions_activation_min, -128),
      optI32(b, opt, ArithmeticOptions_activation_max, 127),
      oi,
    );
    return;
  }
  if (code === OpCode_MUL) {
    needOptions(oi, optType, Options_MulOptions, opt);
    prepareBinaryOperands(p, oi, oin, infos, data, tensorIndex, yi);
    prepareMul(b, p, opt, oi);
    return;
  }
  if (code === OpCode_SOFTMAX) {
    needOptions(oi, optType, Options_SoftmaxOptions, opt);
    prepareSoftmax(b, p, opt, oi, infos[xi]);
    return;
  }
  if (code === OpCode_CONCATENATION) {
    needOptions(oi, optType, Options_ConcatenationOptions, opt);
    prepareConcatenation(b, p, opt, oi, oin, infos, data, tensorIndex, yi);
    return;
  }
  if (code === OpCode_PAD) {
    needOptions(oi, optType, Options_PadOptions, opt);
    preparePad(b, p, opt, oi, xs, ys);
    return;
  }
  if (code === OpCode_MEAN) {
    needOptions(oi, optType, Options_MeanOptions, opt);
    if (xs.length !== 4 || xs[0] !== 1 || infos[yi].count !== xs[3]) badShape(oi, 'mean shapes');
    p.inC = xs[3];
    p.depth = xs[1] * xs[2];
    p.inZp = optI32(b, opt, MeanOptions_input_zero_point, 0);
    p.outZp = optI32(b, opt, MeanOptions_output_zero_point, 0);
    p.mult = int32s([optI32(b, opt, MeanOptions_multiplier, 0)]);
    p.shift = int32s([optI32(b, opt, MeanOptions_shift, 0)]);
    if (!(p.shift[0] >= -31 && p.shift[0] <= 30 && p.mult[0] >= 0 && p.inZp >= -128 && p.inZp <= 127))
      badOptions(oi, 'mean parameters');
    return;
  }
  if (code === OpCode_RESHAPE) {
    if (infos[xi].count !== infos[yi].count) badShape(oi, 'reshape changes the element count');
    return;
  }
  if (code === OpCode_LOGISTIC || code === OpCode_TANH || code === OpCode_QUANTIZE || code === OpCode_LEAKY_RELU) {
    needOptions(oi, optType, Options_LutOptions, opt);
    let tv = fieldVector(b, opt, LutOptions_table, 1);
    if (tv === null || tv[1] !== 256 || infos[xi].count !== infos[yi].count) badOptions(oi, 'lookup table');
    p.table = [];
    for (let i = 0; i < 256; i++) {
      let u = rdU8(b, tv![0] + i);
      p.table.push(u >= 128 ? u - 256 : u);
    }
    return;
  }
  failOp('OPCODE', oi, 'has unknown opcode ' + code);
}

const Morsel = { load: loadModel, version: FORMAT_VERSION };
