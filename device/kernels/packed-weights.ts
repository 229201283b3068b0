// Packed (int4/int2) and sparse (bitmask, run-length, CSR) weights, read in place from the blob: nothing is
// unpacked into RAM. A cursor walks one output row's stored nonzero values in order; kernels visit the rows in
// order 0, 1, … and walk each row fully once per output pixel or batch, restarting it in between (the state at
// the start of a row is where the previous row's walk ended, so sparse rows need no index in RAM).
// Layouts and bit order: schema/morsel.fbs (WeightLayout).

import {
  TensorType_INT8,
  WeightLayout_BITMASK,
  WeightLayout_CSR,
  WeightLayout_DENSE,
  WeightLayout_RUN_LENGTH,
} from '../format/layout';
import { badWeights } from '../format/reader';
import { floor, type Buf } from '../platform/api';
import { isPackedTensor, type OpContext, type TensorInfo } from '../op';

export interface PackedWeights {
  /** The blob as int8 values (a byte u ≥ 128 reads as u − 256: packedByte turns it back). */
  bytes: Buf;
  bits: number;
  layout: number;
  rows: number;
  depth: number;
  stored: number;
  /** Byte positions in `bytes`: bitmask / run codes / CSR row counts; CSR columns; the packed values. */
  index: number;
  cols: number;
  colBytes: number;
  values: number;
  runBits: number;
  escape: number;
  /** Cursor: row bounds (flat weight positions), position, next stored value, next run code, CSR row end, value. */
  rowStart: number;
  rowEnd: number;
  pos: number;
  next: number;
  code: number;
  end: number;
  value: number;
  startPos: number;
  startNext: number;
  startCode: number;
}

const PACKED_POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const PACKED_CRUMB = [1, 4, 16, 64];

/** Byte `at` of the blob, 0..255. */
function packedByte(w: PackedWeights, at: number): number {
  const v = w.bytes[at];
  return v < 0 ? v + 256 : v;
}

function packedValue(w: PackedWeights, i: number): number {
  let u: number;
  if (w.bits === 8) return w.bytes[w.values + i];
  if (w.bits === 4) {
    u = packedByte(w, w.values + floor(i / 2));
    u = i % 2 === 0 ? u % 16 : floor(u / 16);
    return u >= 8 ? u - 16 : u;
  }
  u = floor(packedByte(w, w.values + floor(i / 4)) / PACKED_CRUMB[i % 4]) % 4;
  return u >= 2 ? u - 4 : u;
}

/** Run code e: bits e·runBits … of the little-endian code stream (a code may straddle two bytes). */
function packedRunAt(w: PackedWeights, e: number): number {
  let p = e * w.runBits,
    at = w.index + floor(p / 8),
    s = p % 8;
  let u = s + w.runBits > 8 ? packedByte(w, at) + 256 * packedByte(w, at + 1) : packedByte(w, at);
  return floor(u / PACKED_POW2[s]) % PACKED_POW2[w.runBits];
}

function packedCsrCount(w: PackedWeights, row: number): number {
  return packedByte(w, w.index + 2 * row) + 256 * packedByte(w, w.index + 2 * row + 1);
}

function packedCsrColumn(w: PackedWeights, j: number): number {
  let c = w.cols + w.colBytes * j;
  return w.colBytes === 1 ? packedByte(w, c) : packedByte(w, c) + 256 * packedByte(w, c + 1);
}

/** Validates a packed buffer of `len` bytes at `at` and returns its reader; every length and index is checked. */
export function packedWeights(bytes: Buf, at: number, len: number, info: TensorInfo, ti: number): PackedWeights {
  let bits = info.bits,
    layout = info.layout,
    n = info.count,
    stored = info.stored;
  if (bits !== 8 && bits !== 4 && bits !== 2) badWeights('tensor ' + ti + ' has ' + bits + '-bit weights');
  if (info.type !== TensorType_INT8 || info.shape.length < 2)
    badWeights('tensor ' + ti + ' cannot be packed (int8 of rank 2+ only)');
  let rows = info.shape[0],
    depth = n / rows;
  let w: PackedWeights = {
    bytes: bytes,
    bits: bits,
    layout: layout,
    rows: rows,
    depth: depth,
    stored: layout === WeightLayout_DENSE ? n : stored,
    index: at,
    cols: at,
    colBytes: depth <= 256 ? 1 : 2,
    values: at,
    runBits: info.runBits,
    escape: Math.pow(2, info.runBits) - 1,
    rowStart: 0,
    rowEnd: 0,
    pos: 0,
    next: 0,
    code: 0,
    end: 0,
    value: 0,
    startPos: 0,
    startNext: 0,
    startCode: 0,
  };
  let i: number,
    m: number,
    count = 0;
  if (layout !== WeightLayout_DENSE && !(stored >= 0 && stored <= n))
    badWeights('tensor ' + ti + ' stores ' + stored + ' values for ' + n + ' weights');
  if (layout === WeightLayout_BITMASK) w.values = at + Math.ceil(n / 8);
  else if (layout === WeightLayout_RUN_LENGTH) {
    if (!(w.runBits >= 1 && w.runBits <= 8)) badWeights('tensor ' + ti + ' has ' + w.runBits + '-bit run codes');
    w.index = at + Math.ceil((stored * bits) / 8);
  } else if (layout === WeightLayout_CSR) {
    if (depth > 65535) badWeights('tensor ' + ti + ' rows too long for CSR');
    w.cols = at + 2 * rows;
    w.values = w.cols + w.colBytes * stored;
  } else if (layout !== WeightLayout_DENSE) badWeights('tensor ' + ti + ' has unknown weight layout ' + layout);
  let need = w.values - at + Math.ceil((w.stored * bits) / 8);
  if (layout === WeightLayout_RUN_LENGTH) need = packedRunBytes(w, len - (w.index - at), ti);
  if (len !== need) badWeights('tensor ' + ti + ' needs ' + need + ' packed bytes, its buffer has ' + len);
  if (layout === WeightLayout_BITMASK) {
    for (i = 0; i < w.values - at; i++) {
      for (m = packedByte(w, at + i); m > 0; m = floor(m / 2)) count += m % 2;
    }
    if (count !== stored) badWeights('tensor ' + ti + ' bitmask marks ' + count + ' values, ' + stored + ' stored');
  } else if (layout === WeightLayout_CSR) {
    for (i = 0; i < rows; i++) count += packedCsrCount(w, i);
    if (count !== stored) badWeights('tensor ' + ti + ' CSR rows hold ' + count + ' values, ' + stored + ' stored');
    for (i = 0; i < stored; i++)
      if (packedCsrColumn(w, i) >= depth) badWeights('tensor ' + ti + ' CSR column outside its row');
  }
  return w;
}

/** Bytes a RUN_LENGTH buffer needs: its values and the codes that place them, checked to stay inside the tensor. */
function packedRunBytes(w: PackedWeights, codeBytes: number, ti: number): number {
  let codes = floor((codeBytes * 8) / w.runBits),
    pos = 0,
    placed = 0,
    e = 0,
    c: number;
  for (; placed < w.stored && e < codes; e++) {
    c = packedRunAt(w, e);
    pos += c;
    if (c === w.escape) continue;
    if (pos >= w.rows * w.depth) badWeights('tensor ' + ti + ' run codes reach past the last weight');
    pos++;
    placed++;
  }
  if (placed < w.stored) badWeights('tensor ' + ti + ' run codes place ' + placed + ' of ' + w.stored + ' values');
  return w.index - w.values + Math.ceil((e * w.runBits) / 8);
}

/** Before the first row of an invocation. */
export function packedReset(w: PackedWeights): void {
  w.pos = 0;
  w.next = 0;
  w.code = 0;
}

/** Enters row `row` (rows in order, each walked fully at least once before the next). */
export function packedRow(w: PackedWeights, row: number): void {
  w.rowStart = row * w.depth;
  w.rowEnd = w.rowStart + w.depth;
  if (w.layout === WeightLayout_DENSE || w.layout === WeightLayout_BITMASK) w.pos = w.rowStart;
  if (w.layout === WeightLayout_CSR) w.end = w.next + packedCsrCount(w, row);
  w.startPos = w.pos;
  w.startNext = w.next;
  w.startCode = w.code;
}

/** Back to the start of the current row. */
export function packedRestart(w: PackedWeights): void {
  w.pos = w.startPos;
  w.next = w.startNext;
  w.code = w.startCode;
}

/** Column (0..depth-1) of the row's next nonzero weight, its value in w.value; −1 at the end of the row. */
export function packedNext(w: PackedWeights): number {
  let k: number, m: number, e: number;
  if (w.layout === WeightLayout_DENSE) {
    while (w.pos < w.rowEnd) {
      k = w.pos;
      w.pos = k + 1;
      w.value = packedValue(w, k);
      if (w.value !== 0) return k - w.rowStart;
    }
    return -1;
  }
  if (w.layout === WeightLayout_BITMASK) {
    while (w.pos < w.rowEnd) {
      k = w.pos;
      m = packedByte(w, w.index + floor(k / 8));
      if (m === 0) {
        w.pos = (floor(k / 8) + 1) * 8;
        if (w.pos > w.rowEnd) w.pos = w.rowEnd;
        continue;
      }
      w.pos = k + 1;
      if (floor(m / PACKED_POW2[k % 8]) % 2 === 1) {
        w.value = packedValue(w, w.next);
        w.next++;
        return k - w.rowStart;
      }
    }
    return -1;
  }
  if (w.layout === WeightLayout_RUN_LENGTH) {
    while (w.next < w.stored) {
      m = packedRunAt(w, w.code);
      if (m === w.escape) {
        w.pos += m;
        w.code++;
        continue;
      }
      k = w.pos + m;
      if (k >= w.rowEnd) return -1;
      w.pos = k + 1;
      w.code++;
      w.value = packedValue(w, w.next);
      w.next++;
      return k - w.rowStart;
    }
    return -1;
  }
  if (w.next >= w.end) return -1;
  e = w.next;
  w.next = e + 1;
  w.value = packedValue(w, e);
  return packedCsrColumn(w, e);
}

/**
 * Σ x[xb + k]·w[row, k] over the current row's nonzero weights, from the row's start; leaves the walk at the
 * row's end. FULLY_CONNECTED's inputs are contiguous, so the walk of packedNext is inlined here with locals:
 * no call per weight (8-bit values), which is what makes skipping zeros pay on interpreters.
 */
export function packedRowDot(w: PackedWeights, x: Buf, xb: number): number {
  let bytes = w.bytes,
    vals = w.values,
    idx = w.index,
    bits = w.bits,
    rowEnd = w.rowEnd,
    base = xb - w.rowStart;
  let pos = w.startPos,
    next = w.startNext,
    acc = 0,
    k: number,
    u: number,
    s: number;
  if (w.layout === WeightLayout_RUN_LENGTH) {
    let code = w.startCode,
      rb = w.runBits,
      esc = w.escape,
      stored = w.stored,
      p: number;
    while (next < stored) {
      p = code * rb;
      s = p % 8;
      u = bytes[idx + (p - s) / 8];
      if (u < 0) u += 256;
      if (s + rb > 8) u += 256 * packedByte(w, idx + (p - s) / 8 + 1);
      u = floor(u / PACKED_POW2[s]) % PACKED_POW2[rb];
      if (u === esc) {
        pos += esc;
        code++;
        continue;
      }
      k = pos + u;
      if (k >= rowEnd) break;
      code++;
      pos = k + 1;
      acc += x[base + k] * (bits === 8 ? bytes[vals + next] : packedValue(w, next));
      next++;
    }
    w.code = code;
  } else if (w.layout === WeightLayout_BITMASK) {
    for (k = pos; k < rowEnd; k++) {
      s = k % 8;
      u = bytes[idx + (k - s) / 8];
      if (u < 0) u += 256;
      if (u === 0) {
        k += 7 - s;
        continue;
      }
      if (floor(u / PACKED_POW2[s]) % 2 === 1) {
        acc += x[base + k] * (bits === 8 ? bytes[vals + next] : packedValue(w, next));
        next++;
      }
    }
    pos = rowEnd;
  } else if (w.layout === WeightLayout_CSR) {
    for (; next < w.end; next++) acc += x[xb + packedCsrColumn(w, next)] * packedValue(w, next);
  } else {
    for (k = pos; k < rowEnd; k++) acc += x[base + k] * packedValue(w, k);
    pos = rowEnd;
  }
  w.pos = pos;
  w.next = next;
  return acc;
}

/** Input k of an op as packed weights, validated (packedWeights); null when it is stored dense or missing. */
export function packedInput(ctx: OpContext, k: number): PackedWeights | null {
  if (k >= ctx.inputs.length) return null; // the kernel's own checks name what is missing
  const ti = ctx.inputs[k],
    info = ctx.tensors[ti],
    d = ctx.data[ti];
  return isPackedTensor(info) ? packedWeights(d.data, d.at, d.size, info, ti) : null;
}
