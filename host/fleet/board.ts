// A simulated fleet board: the real device runtime and agent bundles in a real engine (node's vm or QuickJS,
// or the NodeMCU agent in a Lua interpreter, as `morsel emulate` runs them), flash in a directory, the fleet
// transport (transport.ts) on its own MQTT connection, and the application a board would run: inferences on a
// stream of dataset inputs at a set rate, with per-inference latency, class and confidence for telemetry and
// low-confidence inputs sent as hard samples. The application talks to the agent through the agent's own
// frames with seq 0 (which host requests never use): the JS engines answer inside feed, the Lua board (a
// process of its own) a little later; the agent answers in order, so the oldest local request takes the answer.

import { decodeModel } from '../blob/decode';
import { crc32 } from '../blob/crc32';
import { formatKey } from '../serial/auth';
import { BoardStorage } from '../serial/board-storage';
import { type DeviceEngine, startDeviceEngine } from '../serial/device-engine';
import { hardwareSha256, KEY_FILE } from '../serial/emulator';
import { LUA_BOARD_ENGINES, startLuaBoard } from '../serial/lua-board';
import { isLuaEngine } from '../engines/lua';
import { decodeFrame, type DeviceInfo, encodeFrame, type Frame, Msg, type RunResult } from '../serial/protocol';
import { SlipDecoder, slipEncode } from '../serial/slip';
import { type AppStats, BoardTransport, emptyAppStats } from './transport';
import { CONF_BINS } from './topics';

export const SIM_ENGINES = ['node', 'quickjs', ...LUA_BOARD_ENGINES] as const;
export type SimEngine = (typeof SIM_ENGINES)[number];

/** Inputs in the model's real units (e.g. pixels in [0, 1]) with their true labels. */
export interface Workload {
  inputs: Float32Array[];
  labels: Uint8Array;
}

export interface SimBoardOptions {
  engine: SimEngine;
  id: string;
  fleet: string;
  group: string;
  brokerUrl: string;
  storageDir: string;
  /** The fleet key, provisioned in the agent's flash as `morsel emulate --key` does; null: a board without one. */
  key: Uint8Array | null;
  workload: Workload;
  /** Inferences per second (0: none). */
  rate: number;
  telemetryMs: number;
  /** Blob installed at the factory when the flash holds no model. */
  factoryBlob?: Uint8Array;
  /** Send inputs whose top-1 confidence is below this (0: off), at most `samplesPerMinute`. */
  sampleBelow?: number;
  samplesPerMinute?: number;
  /**
   * Input drift in [0, 1]: x → (1 − d)·x, a camera losing gain (darker, flatter images). Changes at run time via setDrift.
   */
  drift?: number;
  ramBytes?: number;
}

interface ModelQuant {
  inputScale: number;
  inputZero: number;
  outputScale: number;
  inputShape: number[];
}

/** Decoded once per blob and shared by every board of a worker (500 boards run the same few models). */
const quantCache = new Map<number, ModelQuant>();

/** The agent's commit pointer (docs/protocol.md, "Upload"): which slot holds the active blob. */
const ACTIVE_POINTER = 'morsel.act';
const FACTORY_SLOT = 'morsel.a';

export class SimBoard {
  private engine!: DeviceEngine;
  private readonly storage: BoardStorage;
  readonly transport: BoardTransport;
  private decoder = new SlipDecoder(8192);
  /** Local requests waiting for their answer, oldest first. */
  private waiting: { resolve(f: Frame): void; reject(e: Error): void }[] = [];
  /** An inference is with the agent: the next tick skips rather than queue up behind it. */
  private inferring = false;
  private timers: NodeJS.Timeout[] = [];
  private stats: AppStats = emptyAppStats();
  private quant: ModelQuant | null = null;
  private next: number;
  private lastSampleMs = 0;
  private drift: number;
  private alive = true;
  faults: string[] = [];

  private constructor(private readonly o: SimBoardOptions) {
    this.storage = new BoardStorage(o.storageDir);
    this.next = hashIndex(o.id, o.workload.inputs.length);
    this.drift = o.drift ?? 0;
    this.transport = new BoardTransport({
      brokerUrl: o.brokerUrl,
      fleet: o.fleet,
      device: o.id,
      group: o.group,
      kind: 'mqtt',
      toAgent: (bytes) => this.guard(() => this.engine?.feed(bytes.toString('latin1'))),
      takeAppStats: () => {
        const s = this.stats;
        this.stats = emptyAppStats();
        return s;
      },
    });
  }

  static async start(o: SimBoardOptions): Promise<SimBoard> {
    const b = new SimBoard(o);
    await b.boot();
    return b;
  }

  private async boot(): Promise<void> {
    const storage = this.storage;
    if (this.o.factoryBlob && storage.read(ACTIVE_POINTER) === null) this.factoryInstall(this.o.factoryBlob);
    if (this.o.key) storage.writeText(KEY_FILE, formatKey(this.o.key));
    else storage.erase(KEY_FILE);
    const host = {
      engine: this.o.engine,
      deviceId: this.o.id,
      maxBlobBytes: 1024 * 1024,
      write: (s: string) => this.fromAgent(Buffer.from(s, 'latin1')),
      now: () => performance.now(),
      read: (n: string) => storage.read(n),
      readBytes: (n: string) => storage.readBytes(n),
      writeAt: (n: string, b: string, off: number, t: number) => storage.writeAt(n, b, off, t),
      writeText: (n: string, t: string) => storage.writeText(n, t),
      erase: (n: string) => storage.erase(n),
      sha256: hardwareSha256,
    };
    const options = {
      ramBytes: this.o.ramBytes ?? 1536 * 1024,
      storageDir: storage.dir,
      onFault: (m: string) => this.faults.push(m),
    };
    const e = this.o.engine;
    this.engine = isLuaEngine(e) ? await startLuaBoard(e, host, options) : await startDeviceEngine(e, host, options);
    const info = await this.hello();
    await this.local(Msg.CONFIG, Buffer.from(JSON.stringify({ telemetry_ms: this.o.telemetryMs })));
    this.modelChanged(info);
    this.timers.push(setInterval(() => this.guard(() => this.engine.tick()), Math.min(100, this.o.telemetryMs)));
    if (this.o.rate > 0) {
      const period = 1000 / this.o.rate;
      // Boards start out of phase, as real ones do.
      const first = setTimeout(() => {
        this.timers.push(
          setInterval(
            () => this.guard(() => void this.infer().catch((e: Error) => this.faults.push(e.message))),
            period,
          ),
        );
      }, Math.random() * period);
      this.timers.push(first);
    }
  }

  private guard(fn: () => void): void {
    if (!this.alive) return;
    try {
      fn();
    } catch (e) {
      this.faults.push((e as Error).message);
    }
  }

  /** One request to the agent with seq 0; rejected if the board stops first. */
  private local(type: Msg, payload: Uint8Array = new Uint8Array(0)): Promise<Frame> {
    if (!this.alive) return Promise.reject(new Error('board stopped'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.engine.feed(slipEncode(encodeFrame(type, 0, payload)).toString('latin1'));
    });
  }

  private async hello(): Promise<DeviceInfo> {
    return JSON.parse((await this.local(Msg.HELLO)).payload.toString('latin1'));
  }

  /**
   * Programs the flash the way a factory image would, in the agent's layout (docs/protocol.md, "Upload"): the
   * blob in slot A and the commit pointer to it. Not through the protocol: an upload's commit computes the
   * blob's CRC once more, which in the device runtime's integer-only CRC costs ~1 s per 100 KB per board.
   */
  private factoryInstall(blob: Uint8Array): void {
    this.storage.writeAt(FACTORY_SLOT, Buffer.from(blob).toString('latin1'), 0, blob.length);
    this.storage.writeText(
      ACTIVE_POINTER,
      JSON.stringify({ slot: FACTORY_SLOT, size: blob.length, crc: crc32(blob), have: blob.length }),
    );
  }

  private fromAgent(bytes: Buffer): void {
    for (const raw of this.decoder.push(bytes)) {
      const f = decodeFrame(raw);
      if (!f) continue;
      if (f.seq === 0 && this.waiting.length && f.type !== Msg.TELEMETRY && f.type !== Msg.LOG) {
        this.waiting.shift()!.resolve(f);
        continue;
      }
      this.transport.fromAgent(f, slipEncode(raw));
      // A deploy over the broker switched the model: re-read INFO and the model's quantization.
      if (f.type === Msg.COMMITTED)
        this.hello().then(
          (info) => this.guard(() => this.modelChanged(info)),
          (e: Error) => this.faults.push(e.message),
        );
    }
  }

  private modelChanged(info: DeviceInfo): void {
    this.transport.setInfo({
      id: info.id,
      engine: info.engine,
      model: info.model,
      pending: info.pending,
      free: info.free,
      agent: info.agent,
      runtime: info.runtime,
      auth: info.auth ?? null,
    });
    this.quant = info.model ? this.readQuant(info.model.crc) : null;
  }

  private readQuant(crc: number): ModelQuant | null {
    const cached = quantCache.get(crc);
    if (cached) return cached;
    const pointer = JSON.parse(this.storage.read(ACTIVE_POINTER) ?? 'null') as { slot: string } | null;
    const bytes = pointer && this.storage.readBytes(pointer.slot);
    if (!bytes) return null;
    const m = decodeModel(new Uint8Array(bytes));
    const i = m.tensors[m.inputs[0]];
    const o = m.tensors[m.outputs[0]];
    const q = {
      inputScale: i.scale[0],
      inputZero: i.zeroPoint[0],
      outputScale: o.scale[0],
      inputShape: i.shape,
    };
    quantCache.set(crc, q);
    return q;
  }

  setDrift(d: number): void {
    this.drift = d;
  }

  private async infer(): Promise<void> {
    const q = this.quant;
    if (!q || this.inferring) return;
    const x = this.o.workload.inputs[this.next];
    this.next = (this.next + 1) % this.o.workload.inputs.length;
    const xq = new Int8Array(x.length);
    const d = this.drift;
    for (let i = 0; i < x.length; i++) {
      const real = (1 - d) * x[i];
      xq[i] = Math.max(-128, Math.min(127, Math.round(real / q.inputScale) + q.inputZero));
    }
    this.inferring = true;
    let f: Frame;
    try {
      f = await this.local(Msg.RUN, new Uint8Array(xq.buffer));
    } catch {
      return; // stopped mid-inference
    } finally {
      this.inferring = false;
    }
    if (f.type !== Msg.RESULT) {
      this.stats.run_errors++;
      return;
    }
    const r = JSON.parse(f.payload.toString('latin1')) as RunResult;
    const { top, confidence } = softmaxTop(r.y, q.outputScale);
    this.stats.latency_us.push(r.total_us);
    this.stats.classes[top] = (this.stats.classes[top] ?? 0) + 1;
    for (let k = 0; k < top; k++) this.stats.classes[k] ??= 0;
    this.stats.confidence[Math.min(CONF_BINS - 1, Math.floor(confidence * CONF_BINS))]++;
    const below = this.o.sampleBelow ?? 0;
    const now = Date.now();
    if (confidence < below && now - this.lastSampleMs >= 60_000 / (this.o.samplesPerMinute ?? 6)) {
      this.lastSampleMs = now;
      this.transport.publishSample({
        sent_ms: now,
        model_crc: this.transport.modelCrc ?? 0,
        pred: top,
        confidence,
        shape: q.inputShape,
        x: Buffer.from(xq.buffer).toString('base64'),
        scale: q.inputScale,
        zero_point: q.inputZero,
      });
    }
  }

  /** Stops the board: `powerCut` drops the connection without a goodbye, so the broker sends the last will. */
  async stop(powerCut = false): Promise<void> {
    this.alive = false;
    for (const t of this.timers) clearInterval(t);
    this.engine?.dispose();
    for (const w of this.waiting.splice(0)) w.reject(new Error('board stopped'));
    await this.transport.close(!powerCut);
  }
}

/** Top-1 class and its softmax probability from int8 logits (the zero point cancels out). */
export function softmaxTop(y: number[], scale: number): { top: number; confidence: number } {
  let top = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[top]) top = i;
  let sum = 0;
  for (const v of y) sum += Math.exp((v - y[top]) * scale);
  return { top, confidence: 1 / sum };
}

function hashIndex(id: string, n: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % n;
}
