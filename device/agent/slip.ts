// SLIP (RFC 1055), the serial link's byte stuffing, written once for both ends: the agent's build takes this module
// as a script (its `export`s dropped, like format/crc32.ts; also to Lua for NodeMCU), and the host imports it
// (host/serial/slip.ts). Every frame has a leading END as well as a trailing one, so line noise before a frame is
// flushed as a bad frame instead of corrupting the next one. The decoder is linear: it unstuffs into one buffer.

export var SLIP_END = 192;
export var SLIP_ESC = 219;
export var SLIP_ESC_END = 220;
export var SLIP_ESC_ESC = 221;

/** Where a SlipStream hands each frame: its bytes are frame[0, n), or n is -1 when it overflowed (dropped whole). */
export interface SlipSink {
  onSlipFrame(frame: Uint8Array, n: number): void;
}

export class SlipStream {
  private buf: Uint8Array;
  private pos: number;
  private escaped: boolean;
  private overflow: boolean;
  private sink: SlipSink;

  /** capacity: the longest frame kept; the sink's frame is this stream's buffer, valid until the next feed. */
  constructor(capacity: number, sink: SlipSink) {
    this.buf = new Uint8Array(capacity);
    this.pos = 0;
    this.escaped = false;
    this.overflow = false;
    this.sink = sink;
  }

  /** Consumes a binary string (one char per byte), as the UART delivers it on the board. */
  feed(data: string): void {
    var buf = this.buf;
    var cap = buf.length;
    for (var i = 0; i < data.length; i++) {
      var c = data.charCodeAt(i);
      if (c === SLIP_END) {
        if (this.pos > 0 || this.overflow) {
          var n = this.overflow ? -1 : this.pos;
          this.pos = 0;
          this.overflow = false;
          this.escaped = false;
          this.sink.onSlipFrame(buf, n);
        }
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
      if (this.pos < cap) {
        buf[this.pos] = c;
        this.pos++;
      } else this.overflow = true;
    }
  }
}

/** Bytes of frame[0, n) once SLIP-encoded, both ENDs included. */
export function slipEncodedLength(frame: Uint8Array, n: number): number {
  var length = n + 2;
  for (var i = 0; i < n; i++) if (frame[i] === SLIP_END || frame[i] === SLIP_ESC) length++;
  return length;
}

/** Writes frame[0, n) SLIP-encoded into out (slipEncodedLength bytes) from 0. */
export function slipEncodeInto(frame: Uint8Array, n: number, out: Uint8Array): void {
  out[0] = SLIP_END;
  var o = 1;
  for (var i = 0; i < n; i++) {
    var c = frame[i];
    if (c === SLIP_END || c === SLIP_ESC) {
      out[o] = SLIP_ESC;
      out[o + 1] = c === SLIP_END ? SLIP_ESC_END : SLIP_ESC_ESC;
      o += 2;
    } else {
      out[o] = c;
      o++;
    }
  }
  out[o] = SLIP_END;
}
