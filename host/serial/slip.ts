// SLIP (RFC 1055) with a leading END as well as a trailing one, so line noise before a frame is flushed
// as a bad frame instead of corrupting the next one. The decoder is linear: it writes into one growing
// buffer (the registry's parser-slip-encoder concatenates a Buffer per byte and manages ~0.6 MB/s).

import { SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC } from './protocol-codes';

export { SLIP_END, SLIP_ESC };

export function slipEncode(frame: Uint8Array): Buffer {
  let specials = 0;
  for (const b of frame) if (b === SLIP_END || b === SLIP_ESC) specials++;
  const out = Buffer.allocUnsafe(frame.length + specials + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of frame) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else out[o++] = b;
  }
  out[o++] = SLIP_END;
  return out;
}

export class SlipDecoder {
  private buf: Buffer;
  private pos = 0;
  private escaped = false;
  private overflow = false;

  /** Frames longer than maxFrame are dropped whole (reported as an empty frame to count the error). */
  constructor(private readonly maxFrame: number) {
    this.buf = Buffer.allocUnsafe(maxFrame);
  }

  /** Returns every frame completed by this chunk (copies; the decoder reuses its buffer). */
  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    const buf = this.buf;
    for (let i = 0; i < chunk.length; i++) {
      let c = chunk[i];
      if (c === SLIP_END) {
        if (this.pos > 0 || this.overflow)
          frames.push(this.overflow ? Buffer.alloc(0) : Buffer.from(buf.subarray(0, this.pos)));
        this.pos = 0;
        this.overflow = false;
        this.escaped = false;
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
      if (this.pos < buf.length) buf[this.pos++] = c;
      else this.overflow = true;
    }
    return frames;
  }
}
