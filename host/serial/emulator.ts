// An emulated board at the serial boundary: a socat pty pair whose far end feeds the device runtime and
// agent bundles running in a real engine (node's vm, QuickJS, or Duktape in its own process; or the Lua builds
// in a Lua interpreter as a NodeMCU board, lua-board.ts). Its flash is a directory, so a reset (a new engine on the same
// storage) behaves like a power cycle: the committed model survives, RAM does not.

import { createHash } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import { SerialPort } from 'serialport';
import { formatKey } from './auth';
import { BoardStorage } from './board-storage';
import { isLuaEngine, type LuaEngine } from '../engines/lua';
import {
  type BoardHost,
  type DeviceEngine,
  deviceScript,
  EMULATED_ENGINES,
  type EmulatedEngine,
  startDeviceEngine,
} from './device-engine';
import { LUA_BOARD_ENGINES, startLuaBoard } from './lua-board';
import { BoardError } from './protocol';
import { createPtyPair, type PtyPair } from './pty';

/** Where the agent looks for its key (device/agent/auth.ts FILE_KEY). */
export const KEY_FILE = 'morsel.key';

/** An ESP32's SHA accelerator, as the emulated board's firmware offers it to the agent (EmulatorHost.sha256). */
export function hardwareSha256(buffer: ArrayBuffer, offset: number, n: number): string {
  return createHash('sha256')
    .update(new Uint8Array(buffer, offset, n))
    .digest('hex');
}

/** Every engine a board can be emulated in: the JS engines, and Lua (5.3, 5.1, LuaJIT) as a NodeMCU board. */
export const BOARD_ENGINES = [...EMULATED_ENGINES, ...LUA_BOARD_ENGINES] as const;
export type BoardEngine = EmulatedEngine | LuaEngine;

export interface EmulatorOptions {
  engine: BoardEngine;
  /** Flash directory; a fresh temporary one when absent. */
  storageDir?: string;
  /** Where to put the host end of the link (a symlink); a temporary path when absent. */
  linkPath?: string;
  /** Engine heap (QuickJS enforces it). */
  ramBytes?: number;
  /** Flash the board offers for blobs. */
  flashBytes?: number;
  /** How often the agent's tick runs (telemetry). */
  tickMs?: number;
  deviceId?: string;
  /**
   * The upload key installed with the agent (a Uint8Array), null to install it without one (--insecure);
   * absent keeps whatever the flash directory holds.
   */
  key?: Uint8Array | null;
}

export class Emulator {
  readonly storage: BoardStorage;
  resets = 0;
  private engine: DeviceEngine | null = null;
  private port!: SerialPort;
  private pty!: PtyPair;
  private timer: NodeJS.Timeout | null = null;
  private readonly script = deviceScript();
  private generation = 0;
  /** Errors thrown by the engine (a device crash would show up here). */
  readonly faults: string[] = [];

  private constructor(
    private readonly opts: Required<Omit<EmulatorOptions, 'linkPath' | 'storageDir' | 'key'>> & { linkPath?: string },
    storageDir: string,
  ) {
    this.storage = new BoardStorage(storageDir);
  }

  /** The path the host opens. */
  get path(): string {
    return this.pty.hostPath;
  }

  static async start(o: EmulatorOptions): Promise<Emulator> {
    const script = deviceScript();
    // No engine holds a program in less RAM than its source text: refused before anything starts.
    if (o.ramBytes !== undefined && o.ramBytes < script.length)
      throw new BoardError(
        `${o.ramBytes} bytes of RAM cannot hold the device runtime and agent (${script.length} bytes of source alone)`,
      );
    if (o.linkPath && !fs.existsSync(path.dirname(path.resolve(o.linkPath))))
      throw new BoardError(`cannot put the link at ${o.linkPath}: ${path.dirname(o.linkPath)} does not exist`);
    const storageDir = o.storageDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-flash-'));
    const em = new Emulator(
      {
        engine: o.engine,
        ramBytes: o.ramBytes ?? 1536 * 1024,
        flashBytes: o.flashBytes ?? 1024 * 1024,
        tickMs: o.tickMs ?? 100,
        deviceId: o.deviceId ?? `emu-${o.engine}-${process.pid}`,
        linkPath: o.linkPath,
      },
      storageDir,
    );
    if (o.key) em.storage.writeText(KEY_FILE, formatKey(o.key));
    else if (o.key === null) em.storage.erase(KEY_FILE);
    em.pty = await createPtyPair(o.linkPath);
    try {
      em.port = new SerialPort({ path: em.pty.devicePath, baudRate: 115200, autoOpen: false });
      await new Promise<void>((res, rej) => em.port.open((e) => (e ? rej(e) : res())));
      em.port.on('data', (chunk: Buffer) => em.guard(() => em.engine?.feed(chunk.toString('latin1'))));
      await em.boot().catch((e: Error) => {
        throw new BoardError(`the ${o.engine} board does not boot with ${em.opts.ramBytes} bytes of RAM: ${e.message}`);
      });
    } catch (e) {
      await em.stop();
      throw e;
    }
    em.timer = setInterval(() => em.guard(() => em.engine?.tick()), em.opts.tickMs);
    return em;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.faults.push((e as Error).message);
    }
  }

  private async boot(): Promise<void> {
    const generation = ++this.generation;
    const storage = this.storage;
    // Writes from an engine that has been reset away must not reach the link or the flash.
    const live = () => generation === this.generation;
    const engine = this.opts.engine;
    const host: BoardHost = {
      engine: this.opts.engine,
      deviceId: this.opts.deviceId,
      maxBlobBytes: this.opts.flashBytes,
      write: (s) => {
        if (live()) this.port.write(Buffer.from(s, 'latin1'));
      },
      now: () => performance.now(),
      read: (n) => storage.read(n),
      readBytes: (n) => storage.readBytes(n),
      writeAt: (n, b, o, t) => {
        if (live()) storage.writeAt(n, b, o, t);
      },
      writeText: (n, t) => {
        if (live()) storage.writeText(n, t);
      },
      erase: (n) => {
        if (live()) storage.erase(n);
      },
      sha256: hardwareSha256,
    };
    const options = {
      ramBytes: this.opts.ramBytes,
      script: this.script,
      storageDir: storage.dir,
      onFault: (m: string) => this.faults.push(m),
    };
    this.engine = isLuaEngine(engine)
      ? await startLuaBoard(engine, host, options)
      : await startDeviceEngine(engine, host, options);
  }

  /** Power-cycles the board: RAM and any half-received frame are lost, the flash directory stays. */
  async reset(): Promise<void> {
    this.resets++;
    const old = this.engine;
    this.engine = null;
    this.generation++;
    old?.dispose();
    await this.boot();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.engine?.dispose();
    this.engine = null;
    await new Promise<void>((r) => (this.port?.isOpen ? this.port.close(() => r()) : r()));
    this.pty.close();
  }
}
