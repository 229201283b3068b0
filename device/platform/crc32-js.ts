// CRC-32 (IEEE) for the ES5 engines, which all have 32-bit bitwise operators: one 256-entry table, a shift and
// two XORs per byte. The ES5 build takes it in place of format/crc32.ts (tools/build-device.ts), whose
// nibble-table XOR in arithmetic Lua 5.1 needs; the same exports and values (every engine test loads its blobs through it).

let table = new Int32Array(0);

/** CRC over bytes[0, n) with bytes [skip, skip + 4) read as zero; signed or unsigned bytes. */
export function crc32Skipping(bytes: { [i: number]: number }, n: number, skip: number): number {
  if (table.length === 0) {
    table = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < n; i++) c = table[(c ^ (i >= skip && i < skip + 4 ? 0 : bytes[i])) & 255] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Lets the table go (the runtime checks one CRC per load). */
export function crcRelease(): void {
  table = new Int32Array(0);
}
