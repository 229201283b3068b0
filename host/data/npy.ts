// NumPy .npy reader/writer (format 1.0–3.0, little-endian, C order) for calibration and test inputs.

import { ModelError } from '../ir/graph';
import { numel } from '../ir/shape';

export interface NpyArray {
  shape: number[];
  dtype: string;
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | Int16Array;
}

const CTORS: Record<
  string,
  { new (b: ArrayBuffer, o: number, n: number): NpyArray['data']; BYTES_PER_ELEMENT: number }
> = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '|i1': Int8Array,
  '|u1': Uint8Array,
  '<i4': Int32Array,
  '<i2': Int16Array,
};

export function parseNpy(bytes: Uint8Array, what = 'npy'): NpyArray {
  if (bytes.length < 10 || bytes[0] !== 0x93 || Buffer.from(bytes.subarray(1, 6)).toString('latin1') !== 'NUMPY') {
    throw new ModelError(`${what}: not a .npy file`);
  }
  const major = bytes[6];
  const headerLen =
    major === 1 ? bytes[8] | (bytes[9] << 8) : new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new ModelError(`${what}: malformed .npy header`);
  if (fortran) throw new ModelError(`${what}: Fortran-order arrays are not supported; save with np.ascontiguousarray`);
  const ctor = CTORS[descr];
  if (!ctor)
    throw new ModelError(`${what}: dtype ${descr} is not supported (float32, float64, int8, uint8, int16, int32)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const bad = shape.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined)
    throw new ModelError(`${what}: shape (${shapeText}) has dimension ${bad}; dimensions are whole numbers ≥ 0`);
  const n = numel(shape);
  const offset = start + headerLen;
  if (offset + n * ctor.BYTES_PER_ELEMENT > bytes.length)
    throw new ModelError(`${what}: truncated (${shape} needs ${n * ctor.BYTES_PER_ELEMENT} data bytes)`);
  // A copy of its own (aligned for the typed array); Uint8Array's slice, since a Buffer's slice is a view.
  const copy = Uint8Array.prototype.slice.call(bytes, offset, offset + n * ctor.BYTES_PER_ELEMENT);
  return { shape, dtype: descr, data: new ctor(copy.buffer, 0, n) };
}

export function writeNpy(shape: number[], data: Float32Array | Int8Array | Uint8Array): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int8Array ? '|i1' : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
