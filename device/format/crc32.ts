// CRC-32 (IEEE) without bitwise operators, so the same source also suits Lua 5.1: the 32-bit state is kept as
// four bytes and XOR is done on nibbles through a 16×16 table.

let XOR4: number[] = [];
let CRC_T0: number[] = [];
let CRC_T1: number[] = [];
let CRC_T2: number[] = [];
let CRC_T3: number[] = [];

function xor8(a: number, b: number): number {
  const ah = Math.floor(a / 16);
  const bh = Math.floor(b / 16);
  return XOR4[ah * 16 + bh] * 16 + XOR4[(a - ah * 16) * 16 + (b - bh * 16)];
}

function xor32(a: number, b: number): number {
  let r = 0;
  let p = 1;
  for (let i = 0; i < 4; i++) {
    r += xor8(Math.floor(a / p) % 256, Math.floor(b / p) % 256) * p;
    p *= 256;
  }
  return r;
}

function crcInit(): void {
  if (CRC_T0.length > 0) return;
  for (let a = 0; a < 16; a++) {
    for (let b = 0; b < 16; b++) {
      let r = 0;
      for (let bit = 8; bit >= 1; bit = bit / 2) {
        if (Math.floor(a / bit) % 2 !== Math.floor(b / bit) % 2) r += bit;
      }
      XOR4.push(r);
    }
  }
  const POLY = 3988292384; // 0xEDB88320
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      const odd = c % 2 === 1;
      c = Math.floor(c / 2);
      if (odd) c = xor32(c, POLY);
    }
    CRC_T0.push(c % 256);
    CRC_T1.push(Math.floor(c / 256) % 256);
    CRC_T2.push(Math.floor(c / 65536) % 256);
    CRC_T3.push(Math.floor(c / 16777216));
  }
}

/**
 * CRC over bytes[0, n) with bytes [skip, skip + 4) read as zero. Takes unsigned or signed bytes (a Uint8Array,
 * the runtime's int8 view of a blob, or a Lua table), so it needs no platform layer and the agent shares it.
 */
export function crc32Skipping(bytes: { [i: number]: number }, n: number, skip: number): number {
  crcInit();
  let c0 = 255,
    c1 = 255,
    c2 = 255,
    c3 = 255;
  for (let i = 0; i < n; i++) {
    let byte = i >= skip && i < skip + 4 ? 0 : bytes[i];
    if (byte < 0) byte += 256;
    const idx = xor8(c0, byte);
    c0 = xor8(c1, CRC_T0[idx]);
    c1 = xor8(c2, CRC_T1[idx]);
    c2 = xor8(c3, CRC_T2[idx]);
    c3 = CRC_T3[idx];
  }
  return 255 - c0 + (255 - c1) * 256 + (255 - c2) * 65536 + (255 - c3) * 16777216;
}

/**
 * Lets the tables go (the runtime checks one CRC per load; the agent, which checks every frame, keeps them).
 * New empty arrays rather than `length = 0`, which Espruino refuses ("Assignment to a constant").
 */
export function crcRelease(): void {
  XOR4 = [];
  CRC_T0 = [];
  CRC_T1 = [];
  CRC_T2 = [];
  CRC_T3 = [];
}
