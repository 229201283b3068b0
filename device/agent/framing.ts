// Frames on the device, over the SLIP stream of slip.ts (the host reads and writes frames with that same code):
// frame = type u8, seq u8, payload length u16 LE, payload, CRC-32 u32 LE of everything before it.

interface FrameHandler {
  onFrame(type: number, seq: number, payload: Uint8Array): void;
  onBadFrame(): void;
}

/** Checks each SLIP frame's length and CRC, and hands it to the handler. */
class SlipReader {
  private stream: SlipStream;
  private handler: FrameHandler;

  constructor(handler: FrameHandler) {
    this.stream = new SlipStream(MAX_PAYLOAD + 8, this);
    this.handler = handler;
  }

  /** Consumes a binary string as it arrives from the UART. */
  feed(data: string): void {
    this.stream.feed(data);
  }

  onSlipFrame(b: Uint8Array, n: number): void {
    var ok = n >= 8 && b[2] + b[3] * 256 === n - 8;
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
  var wire = new Uint8Array(slipEncodedLength(f, n + 8));
  slipEncodeInto(f, n + 8, wire);
  return bytesText(wire);
}

function textBytes(s: string): Uint8Array {
  var b = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) % 256;
  return b;
}
