// SHA-256 and HMAC-SHA256 without bitwise operators (the device subset: Lua 5.1 has none), for boards whose
// firmware offers no native hash. Words are numbers in [0, 2^32); rotations are exact divisions and
// multiplications; XOR goes through a 128×128 table of 7-bit XORs (five lookups a word), and AND and the
// majority come from XOR by the carry identities a + b = (a ^ b) + 2(a & b) and a + b + c = (a ^ b ^ c) +
// 2·maj(a, b, c). The table (16 KB: a board with 480 KB holding a model still has room) lives only while a
// hash runs.

const SHA256_K = [
  1116352408, 1899447441, 3049323471, 3921009573, 961987163, 1508970993, 2453635748, 2870763221, 3624381080, 310598401,
  607225278, 1426881987, 1925078388, 2162078206, 2614888103, 3248222580, 3835390401, 4022224774, 264347078, 604807628,
  770255983, 1249150122, 1555081692, 1996064986, 2554220882, 2821834349, 2952996808, 3210313671, 3336571891, 3584528711,
  113926993, 338241895, 666307205, 773529912, 1294757372, 1396182291, 1695183700, 1986661051, 2177026350, 2456956037,
  2730485921, 2820302411, 3259730800, 3345764771, 3516065817, 3600352804, 4094571909, 275423344, 430227734, 506948616,
  659060556, 883997877, 958139571, 1322822218, 1537002063, 1747873779, 1955562222, 2024104815, 2227730452, 2361852424,
  2428436474, 2756734187, 3204031479, 3329325298,
];
const SHA256_H0 = [1779033703, 3144134277, 1013904242, 2773480762, 1359893119, 2600822924, 528734635, 1541459225];
const TWO32 = 4294967296;
const WORD_MAX = 4294967295;

function xorTableOpen(): Uint8Array {
  const t = new Uint8Array(16384);
  // xor(a, b) = 2·xor(a/2, b/2) + (low bits differ): every entry read is one written earlier in this order.
  for (let a = 0; a < 128; a++) {
    for (let b = 0; b < 128; b++) {
      const half = t[Math.floor(a / 2) * 128 + Math.floor(b / 2)] * 2;
      t[a * 128 + b] = a % 2 === b % 2 ? half : half + 1;
    }
  }
  return t;
}

/** a ^ b for 32-bit words, 7 bits at a time (7 + 7 + 7 + 7 + 4). */
function wordXor(t: Uint8Array, a: number, b: number): number {
  let r = 0;
  let p = 1;
  for (let k = 0; k < 5; k++) {
    const ak = a % 128;
    const bk = b % 128;
    r += t[ak * 128 + bk] * p;
    a = (a - ak) / 128;
    b = (b - bk) / 128;
    p *= 128;
  }
  return r;
}

function xorByte(a: number, b: number): number {
  let r = 0;
  for (let bit = 128; bit >= 1; bit = bit / 2) {
    if (Math.floor(a / bit) % 2 !== Math.floor(b / bit) % 2) r += bit;
  }
  return r;
}

/** x rotated right by n bits; p = 2^n, q = 2^(32-n). */
function rotr(x: number, p: number, q: number): number {
  const lo = x % p;
  return (x - lo) / p + lo * q;
}

/** The 64-entry message schedule buffer, reused across blocks. */
function sha256Block(t: Uint8Array, h: number[], w: number[], bytes: { [i: number]: number }, at: number): void {
  for (let i = 0; i < 16; i++) {
    const p = at + 4 * i;
    w[i] = bytes[p] * 16777216 + bytes[p + 1] * 65536 + bytes[p + 2] * 256 + bytes[p + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = wordXor(t, wordXor(t, rotr(x, 128, 33554432), rotr(x, 262144, 16384)), (x - (x % 8)) / 8);
    const s1 = wordXor(t, wordXor(t, rotr(y, 131072, 32768), rotr(y, 524288, 8192)), (y - (y % 1024)) / 1024);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % TWO32;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = wordXor(t, wordXor(t, rotr(e, 64, 67108864), rotr(e, 2048, 2097152)), rotr(e, 33554432, 128));
    // ch = (e & f) + (~e & g): the two parts share no bit.
    const ef = (e + f - wordXor(t, e, f)) / 2;
    const ng = WORD_MAX - e;
    const ch = ef + (ng + g - wordXor(t, ng, g)) / 2;
    const t1 = hh + S1 + ch + SHA256_K[i] + w[i];
    const S0 = wordXor(t, wordXor(t, rotr(a, 4, 1073741824), rotr(a, 8192, 524288)), rotr(a, 4194304, 1024));
    const maj = (a + b + c - wordXor(t, wordXor(t, a, b), c)) / 2;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) % TWO32;
    d = c;
    c = b;
    b = a;
    a = (t1 + S0 + maj) % TWO32;
  }
  h[0] = (h[0] + a) % TWO32;
  h[1] = (h[1] + b) % TWO32;
  h[2] = (h[2] + c) % TWO32;
  h[3] = (h[3] + d) % TWO32;
  h[4] = (h[4] + e) % TWO32;
  h[5] = (h[5] + f) % TWO32;
  h[6] = (h[6] + g) % TWO32;
  h[7] = (h[7] + hh) % TWO32;
}

/** SHA-256 of bytes[0, n) (unsigned bytes), as 32 bytes. */
function sha256(bytes: { [i: number]: number }, n: number): number[] {
  const table = xorTableOpen();
  const h = SHA256_H0.slice(0);
  const w: number[] = [];
  for (let i = 0; i < 64; i++) w.push(0);
  const whole = n - (n % 64);
  for (let at = 0; at < whole; at += 64) sha256Block(table, h, w, bytes, at);
  // The tail, the 0x80 marker and the bit length (n·8 < 2^53) in one or two final blocks. Indexed from 0 like
  // `bytes` (a plain array would be 1-based once built to Lua).
  const tail: { [i: number]: number } = {};
  let tn = 0;
  for (let i = whole; i < n; i++) tail[tn++] = bytes[i];
  tail[tn++] = 128;
  while (tn % 64 !== 56) tail[tn++] = 0;
  let bits = n * 8;
  for (let i = 0; i < 8; i++) {
    tail[tn + 7 - i] = bits % 256;
    bits = Math.floor(bits / 256);
  }
  tn += 8;
  for (let at = 0; at < tn; at += 64) sha256Block(table, h, w, tail, at);
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const v = h[i];
    out.push(Math.floor(v / 16777216), Math.floor(v / 65536) % 256, Math.floor(v / 256) % 256, v % 256);
  }
  return out;
}

/** HMAC-SHA256 with a key of at most 64 bytes; `digest` hashes (bytes, n), native or sha256() above. */
function hmacSha256(
  key: number[],
  message: number[],
  digest: (bytes: { [i: number]: number }, n: number) => number[],
): number[] {
  const inner: { [i: number]: number } = {};
  const outer: { [i: number]: number } = {};
  for (let i = 0; i < 64; i++) {
    const k = i < key.length ? key[i] : 0;
    inner[i] = xorByte(k, 54);
    outer[i] = xorByte(k, 92);
  }
  for (let i = 0; i < message.length; i++) inner[64 + i] = message[i];
  const ih = digest(inner, 64 + message.length);
  for (let i = 0; i < 32; i++) outer[64 + i] = ih[i];
  return digest(outer, 96);
}
