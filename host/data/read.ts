// Data files are read with a bound: a directory, a device such as /dev/zero or a file beyond the limit is refused
// with one line instead of hanging or exhausting memory. Decompression is bounded the same way.

import * as fs from 'fs';
import * as zlib from 'zlib';
import { ModelError } from '../ir/graph';

/** The most bytes a data file (or a gzipped one, decompressed) may hold: the Fashion-MNIST training set is 47 MB. */
export const MAX_DATA_BYTES = 256 << 20;

const mib = (n: number) => `${(n / (1 << 20)).toFixed(0)} MiB`;

/** A data file's bytes, at most `limit` of them (a device or a pipe has no size: it is read up to the limit). */
export function readDataFile(file: string, what: string, limit = MAX_DATA_BYTES): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ModelError(`${what} not found: ${file}`);
  }
  if (st.isDirectory()) throw new ModelError(`${file} is a directory, not a ${what}`);
  const tooLarge = () => new ModelError(`${file}: larger than ${limit} bytes, the most this ${what} may hold`);
  if (st.size > limit) throw tooLarge();
  const fd = fs.openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(1 << 20);
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge();
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  } finally {
    fs.closeSync(fd);
  }
}

/** Gunzips at most MAX_DATA_BYTES: a small file that claims gigabytes (a gzip bomb) is refused, not inflated. */
export function gunzipBounded(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: MAX_DATA_BYTES });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ModelError(`${what}: decompresses to more than ${mib(MAX_DATA_BYTES)}`);
    throw new ModelError(`${what}: corrupt gzip data (${(e as Error).message})`);
  }
}

/** Refuses NaN and ±Inf in input data: they have no int8 value (quantizing one gives an arbitrary class). */
export function requireFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]))
      throw new ModelError(`${what}: value ${i} is ${values[i]} (inputs must be finite)`);
}
