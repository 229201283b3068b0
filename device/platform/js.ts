// The ES5 targets: typed arrays, zero copy. Weights are read where the blob is (on Espruino, mapped flash). What
// only Espruino needs (its 64 KB view offsets, E.convolve, getTime) is in the Espruino variant alone (ESPRUINO).

import { DOT_CONVOLVE, DOT_NONE, DOT_S8 } from '../native-dot';
import type { Buf } from './api';

/** Espruino keeps a view's byteOffset in 16 bits: `new Int8Array(buffer, offset, n)` throws beyond 65535. */
const MAX_VIEW_OFFSET = 65535;

// Math.floor bound once: some engines resolve the global `Math` slowly on every call (node's vm contexts, Espruino).
export const floor = Math.floor;

export function newInt8(n: number): Buf {
  return new Int8Array(n);
}

export function newInt32(n: number): Buf {
  return new Int32Array(n);
}

export function newFloat64(n: number): Buf {
  return new Float64Array(n);
}

export function blobInt8(blob: any): Buf {
  if (blob instanceof Uint8Array || blob instanceof Int8Array)
    return new Int8Array(blob.buffer, blob.byteOffset, blob.length);
  if (blob instanceof ArrayBuffer) return new Int8Array(blob);
  return raise('MRSL_E_INPUT: Morsel.load expects a Uint8Array or an ArrayBuffer');
}

const INT32_SCRATCH = new Int32Array(1);

export function int32(v: number): number {
  INT32_SCRATCH[0] = v;
  return INT32_SCRATCH[0];
}

export function blobLength(blob: any): number {
  return blob.byteLength;
}

export function int32Span(blob: Buf, pos: number, count: number): Buf {
  const b = blob as Int8Array;
  const at = b.byteOffset + pos;
  if (at % 4 === 0 && (!ESPRUINO || at <= MAX_VIEW_OFFSET)) return new Int32Array(b.buffer, at, count);
  // Unaligned, or beyond where Espruino can start a view: the only case where values (biases) get copied.
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const p = pos + 4 * i;
    out[i] =
      ((b[p] + 256) % 256) + ((b[p + 1] + 256) % 256) * 256 + ((b[p + 2] + 256) % 256) * 65536 + b[p + 3] * 16777216;
  }
  return out;
}

export function rowViews(data: Buf, offset: number, rowLength: number, rows: number): any[] {
  const d = data as Int8Array;
  const out: any[] = [];
  for (let r = 0; r < rows && d.byteOffset + offset + r * rowLength <= MAX_VIEW_OFFSET; r++) {
    out.push(new Int8Array(d.buffer, d.byteOffset + offset + r * rowLength, rowLength));
  }
  return out;
}

export function outputHandle(arena: Buf, offset: number, n: number): any {
  return !ESPRUINO || offset <= MAX_VIEW_OFFSET
    ? new Int8Array((arena as Int8Array).buffer, offset, n)
    : new Int8Array(n);
}

// Whether the handle is a view on the arena is decided by the offset, as outputHandle decided it: never by comparing
// buffers with ===, which Espruino does by content (and runs out of memory on an arena).
export function publishOutput(arena: Buf, offset: number, n: number, handle: any): void {
  if (!ESPRUINO || offset <= MAX_VIEW_OFFSET) return;
  for (let i = 0; i < n; i++) handle[i] = arena[offset + i];
}

export function inputLength(input: any): number {
  return input.length;
}

export function copyInput(input: any, arena: Buf, offset: number, n: number): void {
  for (let i = 0; i < n; i++) arena[offset + i] = input[i];
}

/** Espruino's getTime (seconds, µs resolution), else performance.now where the engine has it, else Date.now (ms). */
export function clockMs(): number {
  if (ESPRUINO && typeof getTime === 'function') return getTime() * 1000;
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

export function nativeDotKind(): number {
  if (typeof dot_s8 === 'function') return DOT_S8;
  if (ESPRUINO && typeof E !== 'undefined' && typeof E.convolve === 'function') return DOT_CONVOLVE;
  return DOT_NONE;
}

export function raise(message: string): never {
  throw new Error(message);
}

/** Espruino's clock: seconds since start with sub-millisecond resolution (Date.now() ticks in whole ms). */
declare function getTime(): number;
/** The High Resolution Time clock (node, browsers; node's vm context gets the host's): ms with µs resolution. */
declare const performance: { now(): number };
