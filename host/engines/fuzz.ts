// Blob mutations for fuzzing the device runtime's validation: bit flips, truncations, random bytes, planted
// int32 values (offsets, lengths) and, for every other mutant, a CRC made valid again so that the checks
// behind the checksum are exercised too. Used by test/engines.test.ts and tools/fuzz-device.ts.

import { crc32 } from '../blob/crc32';
import { morselSchema } from '../blob/fbs';
import { rootFieldPosition } from '../blob/flatbuffer';
import type { Rng } from '../util/rng';

/** Re-seals a mutated blob with a correct CRC (left as it is when the root table cannot be found). */
export function reseal(bytes: Uint8Array): Uint8Array {
  let at: number;
  try {
    at = rootFieldPosition(morselSchema(), bytes, 'crc32');
  } catch {
    return bytes;
  }
  if (at < 0 || at + 4 > bytes.length) return bytes;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  dv.setUint32(at, 0, true);
  dv.setUint32(at, crc32(bytes), true);
  return bytes;
}

/** The i-th mutant of `base`: the kind of mutation cycles with i, its place and values come from `rng`. */
export function mutateBlob(base: Uint8Array, i: number, rng: Rng): Uint8Array {
  let b = base.slice();
  const kind = i % 5;
  if (kind === 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
  else if (kind === 1) b = b.slice(0, rng.int(0, b.length - 1));
  else if (kind === 2) for (let k = rng.int(1, 8); k > 0; k--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
  else if (kind === 3) {
    const p = rng.int(0, b.length - 4) & ~3;
    new DataView(b.buffer).setInt32(p, rng.pick([0, -1, 0x7fffffff, b.length, rng.int(-1000, 100000)]), true);
  } else b[rng.int(8, b.length - 1)] = rng.int(0, 255);
  return i % 2 === 0 ? reseal(b) : b;
}
