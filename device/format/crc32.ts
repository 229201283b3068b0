// CRC-32 (IEEE) without bitwise operators, so the same source also suits Lua 5.1: the 32-bit state is kept as
// four bytes and XOR is done on nibbles through a 16×16 table.

var XOR4: number[] = [];
var CRC_T0: number[] = [];
var CRC_T1: number[] = [];
var CRC_T2: number[] = [];
var CRC_T3: number[] = [];

function xor8(a: number, b: number): number {
  var ah = Math.floor(a / 16);
  var bh = Math.floor(b / 16);
  return XOR4[ah * 16 + bh] * 16 + XOR4[(a - ah * 16) * 16 + (b - bh * 16)];
}

function crcInit(): void {
  if (CRC_T0.length) return;
  for (var a = 0; a < 16; a++) {
    for (var b = 0; b < 16; b++) {
      var r = 0;
      for (var bit = 8; bit >= 1; bit = bit / 2) {
        if ((Math.floor(a / bit) % 2) !== (Math.floor(b / bit) % 2)) r += bit;
      }
      XOR4[a * 16 + b] = r;
    }
  }
  var POLY = 3988292384; // 0xEDB88320
  for (var n = 0; n < 256; n++) {
    var c = n;
    for (var k = 0; k < 8; k++) {
      var odd = c % 2 === 1;
      c = Math.floor(c / 2);
      if (odd) c = xor32(c, POLY);
    }
    CRC_T0[n] = c % 256;
    CRC_T1[n] = Math.floor(c / 256) % 256;
    CRC_T2[n] = Math.floor(c / 65536) % 256;
    CRC_T3[n] = Math.floor(c / 16777216);
  }
}

function xor32(a: number, b: number): number {
  var r = 0;
  var p = 1;
  for (var i = 0; i < 4; i++) {
    r += xor8(Math.floor(a / p) % 256, Math.floor(b / p) % 256) * p;
    p *= 256;
  }
  return r;
}

/** CRC over bytes[0, n) with bytes [skip, skip + 4) read as zero. */
function crc32Skipping(bytes: Uint8Array, n: number, skip: number): number {
  crcInit();
  var c0 = 255, c1 = 255, c2 = 255, c3 = 255;
  for (var i = 0; i < n; i++) {
    var byte = i >= skip && i < skip + 4 ? 0 : bytes[i];
    var idx = xor8(c0, byte);
    c0 = xor8(c1, CRC_T0[idx]);
    c1 = xor8(c2, CRC_T1[idx]);
    c2 = xor8(c3, CRC_T2[idx]);
    c3 = CRC_T3[idx];
  }
  return (255 - c0) + (255 - c1) * 256 + (255 - c2) * 65536 + (255 - c3) * 16777216;
}
