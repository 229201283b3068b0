// Shared by the serial tests: an in-memory board (the real device bundles in node's vm, flash in a Map)
// behind a Link, so protocol behaviour can be tested without ptys; and the zoo blobs with references.

import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { runInt8 } from '../host/interp/int8/interpreter';
import { formatKey } from '../host/serial/auth';
import {
  type BoardHost,
  type DeviceEngine,
  type EmulatedEngine,
  startDeviceEngine,
} from '../host/serial/device-engine';
import { hardwareSha256, KEY_FILE } from '../host/serial/emulator';
import type { Link } from '../host/serial/link';
import { buildAgent, buildAgentLua } from '../tools/build-agent';

export const ROOT = path.join(__dirname, '..', '..');

let built = false;
/** The agent bundle is not part of `npm run build` yet; build it once per test run. */
export function ensureAgentBundle(): void {
  if (!built) {
    buildAgent();
    buildAgentLua();
  }
  built = true;
}

export function zooBlob(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
}

export function referenceOutput(blob: Uint8Array, x: Int8Array): Int8Array {
  return runInt8(decodeModel(blob), [x])[0];
}

export class MemoryBoard implements Link {
  bytesOut = 0;
  bytesIn = 0;
  readonly flash = new Map<string, Buffer>();
  engine!: DeviceEngine;
  private listeners: ((c: Buffer) => void)[] = [];
  private generation = 0;
  /** Host→board bytes from this total on are lost, as on a cut cable. */
  dropFromByte = Infinity;
  /** Makes every blob write fail, as a full or worn-out flash would. */
  failWrites = false;

  /** `key`: the upload key provisioned with the agent (none: a board installed with --insecure). */
  static async start(engine: EmulatedEngine = 'node', key?: Uint8Array): Promise<MemoryBoard> {
    const b = new MemoryBoard();
    if (key) b.flash.set(KEY_FILE, Buffer.from(formatKey(key), 'latin1'));
    await b.boot(engine);
    return b;
  }

  async boot(engine: EmulatedEngine = 'node'): Promise<void> {
    this.engine?.dispose();
    const gen = ++this.generation;
    const live = () => gen === this.generation;
    const flash = this.flash;
    const host: BoardHost = {
      engine,
      deviceId: 'memory',
      maxBlobBytes: 512 * 1024,
      write: (s) => {
        if (!live()) return;
        const c = Buffer.from(s, 'latin1');
        this.bytesIn += c.length;
        setImmediate(() => this.listeners.forEach((l) => l(c)));
      },
      now: () => performance.now(),
      read: (n) => (flash.has(n) ? flash.get(n)!.toString('latin1') : null),
      readBytes: (n) => (flash.has(n) ? new Uint8Array(flash.get(n)!).buffer : null),
      writeAt: (n, bytes, offset, total) => {
        if (this.failWrites) throw new Error('flash write failed');
        const f = flash.get(n) ?? Buffer.alloc(total, 0xff);
        Buffer.from(bytes, 'latin1').copy(f, offset);
        flash.set(n, f);
      },
      writeText: (n, t) => void flash.set(n, Buffer.from(t, 'latin1')),
      erase: (n) => void flash.delete(n),
      sha256: hardwareSha256,
    };
    this.engine = await startDeviceEngine(engine, host, { ramBytes: 1536 * 1024 });
  }

  async write(data: Buffer): Promise<void> {
    const keep = Math.max(0, Math.min(data.length, this.dropFromByte - this.bytesOut));
    this.bytesOut += data.length;
    if (keep > 0) this.engine.feed(data.subarray(0, keep).toString('latin1'));
  }

  onData(l: (c: Buffer) => void): void {
    this.listeners.push(l);
  }

  async close(): Promise<void> {
    this.engine.dispose();
  }
}
