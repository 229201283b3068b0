// The host side of the serial protocol: request/response by sequence number, windowed and resumable blob
// upload, verified commit, inference, and the device's unsolicited telemetry and log frames.

import { crc32 } from '../blob/crc32';
import { explainDeviceError } from '../blob/verify';
import { beginTag, blobDigest, commitTag, type UploadBinding, uninstallTag, workloadTag } from './auth';
import type { Link } from './link';
import {
  BoardError,
  type Committed,
  decodeFrame,
  type DeviceInfo,
  type DeviceLog,
  encodeFrame,
  type Frame,
  FRAME_OVERHEAD,
  MAX_PAYLOAD,
  type MESSAGE_SPECS,
  Msg,
  parseMessage,
  ProtocolError,
  PUT_HEADER,
  type RunResult,
  type Telemetry,
} from './protocol';
import { SlipDecoder, slipEncode } from './slip';

/** The device answered with an ERROR frame. */
export class DeviceError extends BoardError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`device: ${code}: ${message}`);
    this.name = 'DeviceError';
  }
}

/** The host and the board disagree on authentication: nothing was sent. */
export class AuthMismatchError extends BoardError {
  constructor(message: string) {
    super(message);
    this.name = 'AuthMismatchError';
  }
}

export class TimeoutError extends BoardError {
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
  /**
   * The board's key (host/serial/auth.ts); null or absent for a board installed without one. Either way the
   * board must agree: a keyed board refuses untagged uploads, and a tag for a board without a key is refused
   * here, since the user expected a protection the board does not give.
   */
  key?: Uint8Array | null;
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

/** Most a request's timeout grows for the board's measured speed (Espruino needs ~4 s for a 4 × 2 KB window). */
const MAX_BOARD_MS = 3000;

/** Smallest PUT chunk the upload shrinks to on a noisy link. */
const MIN_CHUNK = 256;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DeviceClient {
  private decoder = new SlipDecoder(MAX_PAYLOAD + FRAME_OVERHEAD);
  private seq = 0;
  private waiters: Waiter[] = [];
  private telemetryListeners: ((t: Telemetry) => void)[] = [];
  private logListeners: ((l: DeviceLog) => void)[] = [];
  private invalidListeners: ((e: ProtocolError) => void)[] = [];
  private readonly bytesPerSecond: number;
  private readonly latencyMs: number;
  /**
   * What the board itself takes per byte it receives (SLIP decoding, CRC, storing), measured on its answers:
   * microseconds on an ESP32's C agent, but ~0.5 ms a byte for Espruino's JavaScript SLIP and CRC. Every timeout
   * allows twice the measured figure for the bytes in flight (with those of a request that timed out, which may
   * still be queued on the board), so the host's waits follow the board's speed instead of a fixed second. After
   * a timeout the upload shrinks its windows to one small frame, whose answer gives the first measurement.
   */
  deviceMsPerByte = 0;
  private unansweredBytes = 0;
  /** Frames that failed SLIP/CRC checks on the host side. */
  badFrames = 0;
  /** Unsolicited frames with a valid CRC that break the protocol. */
  invalidFrames = 0;

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

  /** Unsolicited frames that break the protocol (a TELEMETRY that is not JSON, an unknown type, ...). */
  onInvalid(listener: (e: ProtocolError) => void): void {
    this.invalidListeners.push(listener);
  }

  private dispatch(raw: Buffer): void {
    const f = decodeFrame(raw);
    if (!f) {
      this.badFrames++;
      return;
    }
    try {
      if (f.type === Msg.TELEMETRY) {
        const t = parseMessage('TELEMETRY', f.payload) as Telemetry;
        return this.telemetryListeners.forEach((l) => l(t));
      }
      if (f.type === Msg.LOG) {
        const l = parseMessage('LOG', f.payload) as DeviceLog;
        return this.logListeners.forEach((h) => h(l));
      }
      const i = this.waiters.findIndex((w) => w.seq === f.seq);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(f);
      else if (f.seq === 0) throw new ProtocolError(`unsolicited frame of type 0x${f.type.toString(16)}`);
    } catch (e) {
      this.invalidFrames++;
      this.invalidListeners.forEach((l) => l(e as ProtocolError));
    }
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
    answer: Msg,
    answerBytes = 64,
    bytesBefore = 0,
  ): Promise<Frame> {
    const seq = this.nextSeq();
    const wire = slipEncode(encodeFrame(type, seq, payload));
    // Bytes of a request that timed out may still be in the board's input queue ahead of this one.
    const inFlight = wire.length + bytesBefore + this.unansweredBytes;
    const wireMs = this.transferMs(wire.length + answerBytes);
    // Capped, so that a board that stays silent (unplugged) still fails within the retry budget's bounded time.
    const boardMs = Math.min(MAX_BOARD_MS, 2 * this.deviceMsPerByte * inFlight);
    const ms = Math.ceil(this.latencyMs + extraMs + wireMs + boardMs);
    const sent = Date.now();
    const reply = this.expect(seq, ms, what).then(
      (f) => {
        // What the board spent beyond the wire, per byte it had to take in (only bulk requests say anything).
        if (inFlight >= 256) {
          const perByte = Math.max(0, Date.now() - sent - wireMs - extraMs) / inFlight;
          this.deviceMsPerByte = Math.max(perByte, 0.75 * this.deviceMsPerByte);
        }
        this.unansweredBytes = 0;
        return f;
      },
      (e) => {
        if (e instanceof TimeoutError) this.unansweredBytes = wire.length + bytesBefore;
        throw e;
      },
    );
    // The answer may time out while the write is still draining (a loaded host): it is awaited below, so
    // mark it handled now rather than let an early rejection crash the process as unhandled.
    reply.catch(() => undefined);
    await this.link.write(wire).catch((e) => {
      this.cancel(seq);
      throw e;
    });
    const f = await reply;
    if (f.type === Msg.ERROR) {
      const e = parseMessage('ERROR', f.payload) as { code: string; message: string };
      throw new DeviceError(e.code, explainDeviceError(e.message));
    }
    if (f.type !== answer)
      throw new ProtocolError(
        `answered ${what} with a frame of type 0x${f.type.toString(16)} instead of ${Msg[answer]}`,
      );
    return f;
  }

  /** A JSON answer, checked against its message spec. */
  private async requestJson<K extends keyof typeof MESSAGE_SPECS & keyof typeof Msg>(
    type: Msg,
    payload: Uint8Array,
    extraMs: number,
    what: string,
    answer: K,
    answerBytes = 64,
  ): Promise<unknown> {
    const f = await this.request(type, payload, extraMs, what, Msg[answer], answerBytes);
    return parseMessage(answer, f.payload);
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
    const info = (await this.requestJson(Msg.HELLO, new Uint8Array(0), 0, 'HELLO', 'INFO', 512)) as DeviceInfo;
    // A board's JSON may leave out a null field (the Lua agent's encoder has no null): absent reads as null.
    return { ...info, model: info.model ?? null, pending: info.pending ?? null, auth: info.auth ?? null };
  }

  /** Asks again after a timeout or a corrupted answer, as a link with noise needs. */
  helloWithRetry(attempts = 5): Promise<DeviceInfo> {
    return this.retrying(() => this.hello(), attempts);
  }

  /** A request that changes nothing twice, asked again (each timeout doubling the latency allowance). */
  private async retrying<T>(ask: () => Promise<T>, attempts: number): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await ask();
      } catch (e) {
        if (i >= attempts || e instanceof DeviceError || e instanceof ProtocolError) throw e;
      }
    }
  }

  configure(cfg: { telemetry_ms?: number }): Promise<{ telemetry_ms: number }> {
    const payload = Buffer.from(JSON.stringify(cfg));
    return this.retrying(
      async () => (await this.requestJson(Msg.CONFIG, payload, 0, 'CONFIG', 'CONFIG_OK')) as { telemetry_ms: number },
      3,
    );
  }

  /**
   * The board's committed blob, read back in DATA frames (READ, docs/protocol.md), for a host that has no copy
   * of it. `model` is INFO's: each answer is checked against the bytes asked for, and the whole against its
   * size and CRC, so what comes back is exactly the model the board runs.
   */
  async readModel(model: { crc: number; size: number }): Promise<Uint8Array> {
    const blob = new Uint8Array(model.size);
    const chunk = MAX_PAYLOAD;
    for (let offset = 0; offset < model.size; ) {
      const want = Math.min(chunk, model.size - offset);
      const req = Buffer.alloc(8);
      req.writeUInt32LE(offset, 0);
      req.writeUInt32LE(want, 4);
      const f = await this.request(Msg.READ, req, 0, 'READ', Msg.DATA, want + FRAME_OVERHEAD);
      if (f.payload.length !== want)
        throw new ProtocolError(`DATA carries ${f.payload.length} bytes at offset ${offset}; ${want} were asked for`);
      blob.set(f.payload, offset);
      offset += want;
    }
    if (crc32(blob) !== model.crc >>> 0)
      throw new ProtocolError(`the model read back does not match the CRC-32 its INFO names (${model.crc})`);
    return blob;
  }

  /**
   * timeoutMs: how long the inference itself may take on the device. With `outputs` (the model's output
   * size), a RESULT with another number of values is a ProtocolError.
   */
  async run(input: Int8Array, timeoutMs = 10000, outputs?: number): Promise<RunResult> {
    const x = new Uint8Array(input.buffer, input.byteOffset, input.length);
    const r = (await this.requestJson(Msg.RUN, x, timeoutMs, 'RUN', 'RESULT', 1024)) as RunResult;
    if (outputs !== undefined && r.y.length !== outputs)
      throw new ProtocolError(`RESULT has ${r.y.length} values; the model has ${outputs} outputs`);
    return r;
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
    const key = opts.key ?? null;
    const digest = key ? blobDigest(blob) : null;
    let failures = 0;
    let retries = 0;
    let resumedFrom = -1;
    let verifyMs = 0;
    // The furthest byte any window of this upload reached: a delayed ACK of an earlier, longer window may arrive
    // after a retry from a lower offset, so the board's offset is bounded by this, not by the current window's end.
    let sentMax = 0;
    for (;;) {
      try {
        // The nonce changes after every finished upload, so each attempt asks for the current one.
        const binding = key ? await this.uploadBinding(size, crc) : null;
        const begin = Buffer.alloc(8);
        begin.writeUInt32LE(size, 0);
        begin.writeUInt32LE(crc, 4);
        const beginPayload = binding ? Buffer.concat([begin, beginTag(key!, binding)]) : begin;
        let have = this.ackOffset(
          await this.request(Msg.PUT_BEGIN, beginPayload, 0, 'PUT_BEGIN', Msg.PUT_ACK),
          size,
          'PUT_BEGIN',
        );
        if (resumedFrom < 0) resumedFrom = have;
        opts.onProgress?.(have, size);
        while (have < size) {
          const before = have;
          const sent = Math.min(size - have, chunk * frames);
          sentMax = Math.max(sentMax, before + sent);
          have = await this.sendWindow(blob, have, chunk, frames, sentMax);
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
        const tag = binding ? commitTag(key!, binding, digest!) : new Uint8Array(0);
        const done = (await this.requestJson(
          Msg.COMMIT,
          tag,
          // The board reads the whole blob back for its CRC, hash and load: allow for its measured speed.
          opts.commitTimeoutMs ?? 30000 + Math.ceil(4 * this.deviceMsPerByte * size),
          'COMMIT',
          'COMMITTED',
        )) as Committed;
        if (done.crc !== crc || done.size !== size)
          throw new ProtocolError(`COMMITTED names crc ${done.crc} and ${done.size} bytes, not the blob sent`);
        verifyMs = done.verify_ms;
        break;
      } catch (e) {
        if (e instanceof ProtocolError || e instanceof AuthMismatchError) throw e;
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

  /**
   * Removes the agent from the board (docs/protocol.md, UNINSTALL): its files, its code and boot hook, and gives
   * the port back to the REPL. A keyed board needs the key; returns how many agent files it erased.
   */
  async uninstall(key: Uint8Array | null): Promise<number> {
    const info = await this.helloWithRetry(3);
    if (info.auth && !key)
      throw new AuthMismatchError(`board ${info.id} takes only authenticated commands: uninstall it with --key FILE`);
    const tag = key && info.auth ? uninstallTag(key, info.id, info.auth.nonce) : new Uint8Array(0);
    const r = (await this.requestJson(Msg.UNINSTALL, tag, 0, 'UNINSTALL', 'UNINSTALLED')) as { erased: number };
    return r.erased;
  }

  /**
   * Starts the board's workload mode (docs/protocol.md, WORKLOAD): it runs its model on `inputs` in turn, one
   * inference every `periodMs`, on its own, so its telemetry shows inferences and latencies; `periodMs` 0 (and no
   * inputs) stops it. Like an upload, a keyed board needs the key. Returns how many inputs the board holds.
   */
  async workload(periodMs: number, inputs: Int8Array[], key: Uint8Array | null): Promise<number> {
    const info = await this.helloWithRetry(3);
    if (info.auth && !key)
      throw new AuthMismatchError(`board ${info.id} takes only authenticated commands: pass --key FILE`);
    if (!info.auth && key)
      throw new AuthMismatchError(
        `board ${info.id} has no key (its agent was installed with --insecure): use --insecure, or reinstall it with a key`,
      );
    const head = Buffer.alloc(4);
    head.writeUInt32LE(periodMs, 0);
    const data = Buffer.concat(inputs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.length)));
    const tag =
      key && info.auth ? workloadTag(key, info.id, info.auth.nonce, periodMs, crc32(data)) : new Uint8Array(0);
    const payload = Buffer.concat([head, data, tag]);
    if (payload.length > MAX_PAYLOAD)
      throw new BoardError(
        `${inputs.length} inputs of ${inputs[0]?.length} bytes do not fit one frame (${MAX_PAYLOAD} bytes): pass fewer`,
      );
    const r = (await this.requestJson(Msg.WORKLOAD, payload, 0, 'WORKLOAD', 'WORKLOAD_OK')) as { inputs: number };
    return r.inputs;
  }

  /** The board's id and nonce for a keyed upload (an unkeyed one to a keyed board gets ERROR AUTH instead). */
  private async uploadBinding(size: number, crc: number): Promise<UploadBinding> {
    const info = await this.helloWithRetry(3);
    if (!info.auth)
      throw new AuthMismatchError(
        `board ${info.id} has no key (its agent was installed with --insecure): flash it with --insecure, or reinstall it with a key`,
      );
    return { deviceId: info.id, nonce: info.auth.nonce, size, crc };
  }

  /** PUT_ACK's offset, which can never exceed what was sent (`sent`) nor the blob. */
  private ackOffset(f: Frame, sent: number, what: string): number {
    if (f.payload.length !== 4) throw new ProtocolError(`PUT_ACK of ${f.payload.length} bytes (expected 4)`);
    const have = f.payload.readUInt32LE(0);
    if (have > sent) throw new ProtocolError(`acknowledged ${have} bytes after ${what}, but only ${sent} were sent`);
    return have;
  }

  /**
   * Sends up to windowFrames chunks from `from`, the last one asking for an ACK; returns the device's offset, which
   * may not exceed `sentMax`, the furthest byte of any window sent in this upload.
   */
  private async sendWindow(
    blob: Uint8Array,
    from: number,
    chunk: number,
    windowFrames: number,
    sentMax: number,
  ): Promise<number> {
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
    const ack = await this.request(
      Msg.PUT_DATA,
      lastPayload,
      this.transferMs(bytes),
      'PUT_DATA window',
      Msg.PUT_ACK,
      64,
      bytes,
    );
    return this.ackOffset(ack, Math.max(sentMax, at), 'the windows sent');
  }
}
