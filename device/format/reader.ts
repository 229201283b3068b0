// Bounds-checked FlatBuffer access to a Morsel blob, in place (no copies). Field offsets come from the
// generated layout.ts. Every failure throws an Error whose message starts with a stable MRSL_E_* code.

import { floor, raise, type Buf } from '../platform/api';

/** What a refusal names beside its text (a refusal's text ends with them in the device bundles). */
type Value = string | number | number[];

/**
 * Throws `MRSL_E_<code>: [op <oi>] <detail>`. The device bundles number the code (its ErrorCode value) and the
 * detail (its place in host/ir/device-messages.ts, passed with the values a, b, c it names: `MRSL_E_15: op 3 #41 7`),
 * which the host puts back into words (tools/device-messages.ts); the sources, and so the host's verifier, say them.
 */
function refuse(code: string | number, oi: number, detail: string | number, a?: Value, b?: Value, c?: Value): never {
  let m = 'MRSL_E_' + code + ': ' + (oi < 0 ? '' : 'op ' + oi + ' ') + (typeof detail === 'number' ? '#' : '') + detail;
  if (a !== undefined) m += ' ' + a;
  if (b !== undefined) m += ' ' + b;
  if (c !== undefined) m += ' ' + c;
  return raise(m);
}

export function fail(code: string | number, detail: string | number, a?: Value, b?: Value, c?: Value): never {
  return refuse(code, -1, detail, a, b, c);
}

/** fail() about op oi: the detail follows "op <oi> ". */
export function failOp(
  code: string | number,
  oi: number,
  detail: string | number,
  a?: Value,
  b?: Value,
  c?: Value,
): never {
  return refuse(code, oi, detail, a, b, c);
}

// The commonest codes, one short call each (they are most of the bundle's failure sites).
export function badOptions(oi: number, detail: string | number, a?: Value, b?: Value, c?: Value): never {
  return failOp('OPTIONS', oi, detail, a, b, c);
}
export function badShape(oi: number, detail: string | number, a?: Value, b?: Value, c?: Value): never {
  return failOp('SHAPE', oi, detail, a, b, c);
}
export function badWeights(detail: string | number, a?: Value, b?: Value, c?: Value): never {
  return fail('WEIGHTS', detail, a, b, c);
}

/** The blob as int8 values (platform blobInt8) and its length. */
export interface Blob {
  bytes: Buf;
  n: number;
}

export function rdU8(b: Blob, p: number): number {
  if (!(p >= 0 && p + 1 <= b.n)) fail('BOUNDS', 'byte at ' + p);
  const v = b.bytes[p];
  return v < 0 ? v + 256 : v;
}
function rdU16(b: Blob, p: number): number {
  if (!(p >= 0 && p + 2 <= b.n)) fail('BOUNDS', 'u16 at ' + p);
  return rdU8(b, p) + rdU8(b, p + 1) * 256;
}
export function rdU32(b: Blob, p: number): number {
  if (!(p >= 0 && p + 4 <= b.n)) fail('BOUNDS', 'u32 at ' + p);
  return rdU8(b, p) + rdU8(b, p + 1) * 256 + rdU8(b, p + 2) * 65536 + rdU8(b, p + 3) * 16777216;
}
function rdI32(b: Blob, p: number): number {
  const u = rdU32(b, p);
  return u >= 2147483648 ? u - 4294967296 : u;
}
export function rdF32(b: Blob, p: number): number {
  const u = rdU32(b, p);
  const sign = u >= 2147483648 ? -1 : 1;
  const e = floor(u / 8388608) % 256;
  const mant = u % 8388608;
  if (e === 0) return sign * mant * Math.pow(2, -149);
  if (e === 255) return mant !== 0 ? 0 / 0 : sign / 0;
  return sign * (1 + mant / 8388608) * Math.pow(2, e - 127);
}

/** Position of a field's value in the table at `t`, or −1 when absent. */
export function fieldPos(b: Blob, t: number, vtOff: number): number {
  const vt = t - rdI32(b, t);
  const vtSize = rdU16(b, vt);
  if (vtSize < 4 || vtSize % 2 !== 0) fail('VTABLE', 'bad vtable size ' + vtSize + ' at ' + vt);
  if (vtOff >= vtSize) return -1;
  const rel = rdU16(b, vt + vtOff);
  if (rel === 0) return -1;
  if (rel >= rdU16(b, vt + 2)) fail('VTABLE', 'field offset ' + rel + ' outside its table at ' + t);
  return t + rel;
}
export function fieldI32(b: Blob, t: number, vtOff: number, dflt: number): number {
  const p = fieldPos(b, t, vtOff);
  return p < 0 ? dflt : rdI32(b, p);
}
export function fieldU8(b: Blob, t: number, vtOff: number, dflt: number): number {
  const p = fieldPos(b, t, vtOff);
  return p < 0 ? dflt : rdU8(b, p);
}
/** Follows a uoffset at `p`. */
export function deref(b: Blob, p: number): number {
  const q = p + rdU32(b, p);
  if (q >= b.n) fail('BOUNDS', 'offset at ' + p + ' points past the end');
  return q;
}
/** Vector field: [position of element 0, length], elements checked to fit; null when absent. */
export function fieldVector(b: Blob, t: number, vtOff: number, elemSize: number): number[] | null {
  const p = fieldPos(b, t, vtOff);
  if (p < 0) return null;
  const v = deref(b, p);
  const len = rdU32(b, v);
  if (v + 4 + len * elemSize > b.n) fail('BOUNDS', 'vector of ' + len + ' at ' + v + ' exceeds the blob');
  return [v + 4, len];
}
export function intVector(b: Blob, t: number, vtOff: number): number[] {
  const v = fieldVector(b, t, vtOff, 4);
  const out: number[] = [];
  if (v !== null) for (let i = 0; i < v[1]; i++) out.push(rdI32(b, v[0] + 4 * i));
  return out;
}
export function tableAt(b: Blob, vectorElemPos: number): number {
  return deref(b, vectorElemPos);
}
