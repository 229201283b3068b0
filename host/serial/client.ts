// The host side of the serial protocol: request/response by sequence number, windowed and resumable blob
// upload, verified commit, inference, and the device's unsolicited telemetry and log frames.

import { crc32 } from '../blob/crc32';
import type { Link } from './link';
import {
  decodeFrame,
  type DeviceInfo,
  type DeviceLog,
  encodeFrame,
  type Frame,
  FRAME_OVERHEAD,
  MAX_PAYLOAD,
  Msg,
  PUT_HEADER,
  type RunResult,
  type Telemetry,
} from './protocol';
import { SlipDecoder, slipEncode } from './slip';

/** The device answered with an ERROR frame. */
export class DeviceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`device: ${code}: ${message}`);
    this.name = 'DeviceError';
  }
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no answer to ${what} within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export interface ClientOptions {
  /** Link speed the timeouts are sized for: 11520 B/s is 115200 baud 8N1. */
  bytesPerSecond?: number;
  /** Allowance for the device's own processing before it answers. */
  latencyMs?: number;
}

export interface FlashOptions {
  /** Bytes of blob per PUT_DATA frame. */
  chunkBytes?: number;
  /** Frames sent before waiting for an acknowledgement. */
  windowFrames?: number;
  /** Failed round trips in a row (no progress) before giving up. */
  retries?: number;
  /** Time the device may take to verify and load the blob at COMMIT. */
  commitTimeoutMs?: number;
  onProgress?: (have: number, size: number) => void;
}

export interface FlashReport {
  bytes: number;
  crc: number;
  seconds: number;
  /** Link bytes both ways during the flash; efficiency = bytes / wireBytes. */
  wireBytes: number;
  /** Where the upload started (non-zero when the device already held part of this blob). */
  resumedFrom: number;
  /** Round trips that failed and were retried. */
  retries: number;
  verifyMs: number;
}

interface Waiter {
  seq: number;
  resolve(f: Frame): void;
  reject(e: Error): void;
}

/** Smallest PUT chunk the upload shrinks to on a noisy link. */
const MIN_CHUNK = 256;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DeviceClient {
  private decoder = new SlipDecoder(MAX_PAYLOAD + FRAME_OVERHEAD);
  private seq = 0;
  private waiters: Waiter[] = [];
  private telemetryListeners: ((t: Telemetry) => void)[] = [];
  private logListeners: ((l: DeviceLog) => void)[] = [];
  private readonly bytesPerSecond: number;
  private readonly latencyMs: number;
  /** Frames that failed SLIP/CRC checks on the host side. */
  badFrames = 0;

  constructor(
    readonly link: Link,
    opts: ClientOptions = {},
  ) {
    this.bytesPerSecond = opts.bytesPerSecond ?? 11520;
    this.latencyMs = opts.latencyMs ?? 1000;
    link.onData((chunk) => {
      for (const raw of this.decoder.push(chunk)) this.dispatch(raw);
    });
  }

  onTelemetry(listener: (t: Telemetry) => void): void {
    this.telemetryListeners.push(listener);
  }

  onLog(listener: (l: DeviceLog) => void): void {
    this.logListeners.push(listener);
  }

  private dispatch(raw: Buffer): void {
    const f = decodeFrame(raw);
    if (!f) {
      this.badFrames++;
      return;
    }
    if (f.type === Msg.TELEMETRY) return this.telemetryListeners.forEach((l) => l(parseJson(f)));
    if (f.type === Msg.LOG) return this.logListeners.forEach((l) => l(parseJson(f)));
    const i = this.waiters.findIndex((w) => w.seq === f.seq);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(f);
  }

  /** Milliseconds n bytes take at the link rate, with a quarter for slack. */
  private transferMs(bytes: number): number {
    return Math.ceil((1000 * bytes * 1.25) / this.bytesPerSecond);
  }

  private nextSeq(): number {
    this.seq = (this.seq % 255) + 1;
    return this.seq;
  }

  /**
   * Sends one frame and waits for the frame with the same sequence number, allowing the frame's and the
   * answer's time on the wire, the device's latency and `extraMs` (device work, or earlier frames queued).
   */
  private async request(
    type: Msg,
    payload: Uint8Array,
    extraMs: number,
    what: string,
    answerBytes = 64,
  ): Promise<Frame> {
    const seq = this.nextSeq();
    const wire = slipEncode(encodeFrame(type, seq, payload));
    const answer = this.expect(seq, this.latencyMs + extraMs + this.transferMs(wire.length + answerBytes), what);
    // The answer may time out while the write is still draining (a loaded host): it is awaited below, so
    // mark it handled now rather than let an early rejection crash the process as unhandled.
    answer.catch(() => undefined);
    await this.link.write(wire).catch((e) => {
      this.cancel(seq);
      throw e;
    });
    const f = await answer;
    if (f.type === Msg.ERROR) {
      const e = parseJson<{ code: string; message: string }>(f);
      throw new DeviceError(e.code, e.message);
    }
    return f;
  }

  private expect(seq: number, ms: number, what: string): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.cancel(seq);
        reject(new TimeoutError(what, ms));
      }, ms);
      this.waiters.push({
        seq,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private cancel(seq: number): void {
    this.waiters = this.waiters.filter((w) => w.seq !== seq);
  }

  async hello(): Promise<DeviceInfo> {
    return parseJson(await this.request(Msg.HELLO, new Uint8Array(0), 0, 'HELLO', 512));
  }

  /** Asks again after a timeout or a corrupted answer, as a link with noise needs. */
  async helloWithRetry(attempts = 5): Promise<DeviceInfo> {
    for (let i = 1; ; i++) {
      try {
        return await this.hello();
      } catch (e) {
        if (i >= attempts || e instanceof DeviceError) throw e;
      }
    }
  }

  async configure(cfg: { telemetry_ms?: number }): Promise<{ telemetry_ms: number }> {
    return parseJson(await this.request(Msg.CONFIG, Buffer.from(JSON.stringify(cfg)), 0, 'CONFIG'));
  }

  /** timeoutMs: how long the inference itself may take on the device. */
  async run(input: Int8Array, timeoutMs = 10000): Promise<RunResult> {
    const f = await this.request(
      Msg.RUN,
      new Uint8Array(input.buffer, input.byteOffset, input.length),
      timeoutMs,
      'RUN',
      1024,
    );
    return parseJson(f);
  }

  /**
   * Uploads a blob and commits it. Every answer carries how much of the blob the device holds, so a lost
   * frame, a timeout, a cut link or a device reset costs one round trip and the upload resumes from there.
   */
  async flash(blob: Uint8Array, opts: FlashOptions = {}): Promise<FlashReport> {
    const start = Date.now();
    const wire0 = this.link.bytesOut + this.link.bytesIn;
    const size = blob.length;
    const crc = crc32(blob);
    const maxChunk = Math.min(opts.chunkBytes ?? 2048, MAX_PAYLOAD - PUT_HEADER);
    const windowFrames = opts.windowFrames ?? 4;
    // On a noisy link a lost byte costs its whole frame and window: shrink both after a loss.
    let chunk = maxChunk;
    let frames = windowFrames;
    const shrink = () => {
      chunk = Math.max(MIN_CHUNK, Math.floor(chunk / 2));
      frames = 1;
    };
    const maxRetries = opts.retries ?? 8;
    const begin = Buffer.alloc(8);
    begin.writeUInt32LE(size, 0);
    begin.writeUInt32LE(crc, 4);
    let failures = 0;
    let retries = 0;
    let resumedFrom = -1;
    let verifyMs = 0;
    for (;;) {
      try {
        let have = (await this.request(Msg.PUT_BEGIN, begin, 0, 'PUT_BEGIN')).payload.readUInt32LE(0);
        if (resumedFrom < 0) resumedFrom = have;
        opts.onProgress?.(have, size);
        while (have < size) {
          const before = have;
          const sent = Math.min(size - have, chunk * frames);
          have = await this.sendWindow(blob, have, chunk, frames);
          opts.onProgress?.(have, size);
          if (have - before === sent) {
            // A clean window: grow back towards the configured chunk and window.
            chunk = Math.min(maxChunk, chunk * 2);
            frames = Math.min(windowFrames, frames * 2);
          } else shrink();
          if (have > before) failures = 0;
          else if (++failures > maxRetries) throw new Error(`upload made no progress at byte ${have} of ${size}`);
          else retries++;
        }
        const done = await this.request(Msg.COMMIT, new Uint8Array(0), opts.commitTimeoutMs ?? 30000, 'COMMIT');
        verifyMs = parseJson<{ verify_ms: number }>(done).verify_ms;
        break;
      } catch (e) {
        if (e instanceof DeviceError && !['INCOMPLETE', 'NO_PUT', 'VERIFY'].includes(e.code)) throw e;
        if (e instanceof DeviceError && e.code === 'VERIFY' && e.message.includes('LOAD:')) throw e;
        retries++;
        shrink();
        if (++failures > maxRetries) throw e;
        await sleep(Math.min(1000, 50 * failures));
      }
    }
    return {
      bytes: size,
      crc,
      seconds: (Date.now() - start) / 1000,
      wireBytes: this.link.bytesOut + this.link.bytesIn - wire0,
      resumedFrom: Math.max(0, resumedFrom),
      retries,
      verifyMs,
    };
  }

  /** Sends up to windowFrames chunks from `from`, the last one asking for an ACK; returns the device's offset. */
  private async sendWindow(blob: Uint8Array, from: number, chunk: number, windowFrames: number): Promise<number> {
    const frames: Buffer[] = [];
    let at = from;
    for (let k = 0; k < windowFrames && at < blob.length; k++) {
      const n = Math.min(chunk, blob.length - at);
      const last = k === windowFrames - 1 || at + n >= blob.length;
      const p = Buffer.allocUnsafe(PUT_HEADER + n);
      p.writeUInt32LE(at, 0);
      p[4] = last ? 1 : 0;
      p.set(blob.subarray(at, at + n), PUT_HEADER);
      frames.push(p);
      at += n;
    }
    const lastPayload = frames.pop()!;
    let bytes = 0;
    for (const p of frames) {
      const wire = slipEncode(encodeFrame(Msg.PUT_DATA, 0, p));
      bytes += wire.length;
      await this.link.write(wire);
    }
    const ack = await this.request(Msg.PUT_DATA, lastPayload, this.transferMs(bytes), 'PUT_DATA window');
    return ack.payload.readUInt32LE(0);
  }
}

function parseJson<T>(f: Frame): T {
  return JSON.parse(f.payload.toString('latin1')) as T;
}
