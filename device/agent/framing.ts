// SLIP framing on the device: a linear decoder into one preallocated buffer and a frame writer.
// Frame = type u8, seq u8, payload length u16 LE, payload, CRC-32 u32 LE of everything before it.

interface FrameHandler {
  onFrame(type: number, seq: number, payload: Uint8Array): void;
  onBadFrame(): void;
}

class SlipReader {
  private buf: Uint8Array;
  private pos: number;
  private escaped: boolean;
  private overflow: boolean;
  private handler: FrameHandler;

  constructor(handler: FrameHandler) {
    this.buf = new Uint8Array(MAX_PAYLOAD + 8);
    this.pos = 0;
    this.escaped = false;
    this.overflow = false;
    this.handler = handler;
  }

  /** Consumes a binary string as it arrives from the UART. */
  feed(data: string): void {
    var buf = this.buf;
    var cap = buf.length;
    for (var i = 0; i < data.length; i++) {
      var c = data.charCodeAt(i);
      if (c === SLIP_END) {
        if (this.pos > 0 || this.overflow) this.finish();
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (c === SLIP_ESC_END) c = SLIP_END;
        else if (c === SLIP_ESC_ESC) c = SLIP_ESC;
      } else if (c === SLIP_ESC) {
        this.escaped = true;
        continue;
      }
      if (this.pos < cap) buf[this.pos++] = c;
      else this.overflow = true;
    }
  }

  private finish(): void {
    var n = this.pos;
    var ok = !this.overflow && n >= 8;
    this.pos = 0;
    this.overflow = false;
    this.escaped = false;
    var b = this.buf;
    if (ok) ok = b[2] + b[3] * 256 === n - 8;
    if (ok) ok = crc32Skipping(b, n - 4, n - 4) === readU32(b, n - 4);
    if (ok) this.handler.onFrame(b[0], b[1], b.subarray(4, n - 4));
    else this.handler.onBadFrame();
  }
}

function readU32(b: Uint8Array, p: number): number {
  return b[p] + b[p + 1] * 256 + b[p + 2] * 65536 + b[p + 3] * 16777216;
}

function putU32(b: Uint8Array, p: number, v: number): void {
  for (var i = 0; i < 4; i++) {
    b[p + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** The SLIP-encoded frame as a binary string ready for the UART. */
function encodeFrame(type: number, seq: number, payload: Uint8Array): string {
  var n = payload.length;
  var f = new Uint8Array(n + 8);
  f[0] = type;
  f[1] = seq;
  f[2] = n % 256;
  f[3] = Math.floor(n / 256);
  for (var i = 0; i < n; i++) f[4 + i] = payload[i];
  putU32(f, n + 4, crc32Skipping(f, n + 4, n + 4));
  var out = String.fromCharCode(SLIP_END);
  for (var k = 0; k < f.length; k++) {
    var c = f[k];
    if (c === SLIP_END) out += String.fromCharCode(SLIP_ESC, SLIP_ESC_END);
    else if (c === SLIP_ESC) out += String.fromCharCode(SLIP_ESC, SLIP_ESC_ESC);
    else out += String.fromCharCode(c);
  }
  return out + String.fromCharCode(SLIP_END);
}

function textBytes(s: string): Uint8Array {
  var b = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) % 256;
  return b;
}
