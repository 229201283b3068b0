// The host's side of the serial link's SLIP framing: the device's own codec (device/agent/slip.ts), over Buffers.
// The decoder is linear (the registry's parser-slip-encoder concatenates a Buffer per byte and manages ~0.6 MB/s).

import { SLIP_END, SLIP_ESC, SlipStream, slipEncodedLength, slipEncodeInto } from '../../device/agent/slip';

export { SLIP_END, SLIP_ESC };

export function slipEncode(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(slipEncodedLength(frame, frame.length));
  slipEncodeInto(frame, frame.length, out);
  return out;
}

export class SlipDecoder {
  private readonly stream: SlipStream;
  private frames: Buffer[] = [];

  /** Frames longer than maxFrame are dropped whole (reported as an empty frame to count the error). */
  constructor(maxFrame: number) {
    this.stream = new SlipStream(maxFrame, {
      onSlipFrame: (frame, n) => this.frames.push(n < 0 ? Buffer.alloc(0) : Buffer.from(frame.subarray(0, n))),
    });
  }

  /** Returns every frame completed by this chunk (copies; the decoder reuses its buffer). */
  push(chunk: Uint8Array): Buffer[] {
    // The device's decoder reads a binary string, as a board's UART delivers it; latin1 is one char per byte.
    this.stream.feed(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1'));
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}
