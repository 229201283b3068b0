// IDX reader (the MNIST / Fashion-MNIST container format), gzipped or not.
// Header: two zero bytes, a type code, the number of dimensions, then each dimension as a big-endian uint32.

import { ModelError } from '../ir/graph';
import { numel } from '../ir/shape';
import { gunzipBounded, readDataFile } from './read';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Parses IDX bytes (gunzipping them first if they start with the gzip magic). Only unsigned-byte data is supported. */
export function readIdx(bytes: Uint8Array, what = 'IDX'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = gunzipBounded(bytes, what);
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new ModelError(`${what}: not an IDX file`);
  if (bytes[2] !== UBYTE)
    throw new ModelError(`${what}: IDX type 0x${bytes[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const rank = bytes[3];
  const start = 4 + 4 * rank;
  if (bytes.length < start) throw new ModelError(`${what}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const n = numel(dims);
  if (bytes.length < start + n)
    throw new ModelError(`${what}: truncated (dims [${dims}] need ${n} data bytes, found ${bytes.length - start})`);
  return { dims, data: bytes.slice(start, start + n) };
}

export function readIdxFile(file: string): IdxArray {
  return readIdx(readDataFile(file, 'IDX file'), file);
}

/** Builds an uncompressed unsigned-byte IDX file (for tests and exported data). */
export function writeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
