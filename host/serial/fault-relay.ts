// A man in the middle for the serial link: the host opens the relay's pty, the relay forwards to the
// device's pty and, on the way, drops, corrupts and delays bytes, or cuts the link for a while. Delays keep
// byte order, as a slow UART would. Used by the fault-injection tests and tools/fault-soak.ts.

import { SerialPort } from 'serialport';
import type { Rng } from '../util/rng';
import { createPtyPair, type PtyPair } from './pty';

export interface Faults {
  /** Probability that a byte is dropped. */
  dropRate: number;
  /** Probability that a byte gets one bit flipped. */
  corruptRate: number;
  /** Each chunk is held back a random time up to this. */
  maxDelayMs: number;
}

export const NO_FAULTS: Faults = { dropRate: 0, corruptRate: 0, maxDelayMs: 0 };

export interface RelayStats {
  dropped: number;
  corrupted: number;
  cutBytes: number;
  forwarded: number;
}

type Direction = 'toDevice' | 'toHost';

export class FaultRelay {
  faults: Faults = { ...NO_FAULTS };
  readonly stats: RelayStats = { dropped: 0, corrupted: 0, cutBytes: 0, forwarded: 0 };
  /** Bytes received from the host so far (before faults): triggers are keyed on it. */
  hostBytes = 0;
  private cutUntil = 0;
  private triggers: { at: number; action: () => void }[] = [];
  private lastDelivery: Record<Direction, number> = { toDevice: 0, toHost: 0 };
  private pty!: PtyPair;
  private hostSide!: SerialPort;
  private deviceSide!: SerialPort;

  private constructor(private readonly rng: Rng) {}

  get path(): string {
    return this.pty.hostPath;
  }

  static async start(devicePath: string, rng: Rng, linkPath?: string): Promise<FaultRelay> {
    const r = new FaultRelay(rng);
    r.pty = await createPtyPair(linkPath);
    r.hostSide = await openPort(r.pty.devicePath);
    r.deviceSide = await openPort(devicePath);
    r.hostSide.on('data', (c: Buffer) => {
      r.hostBytes += c.length;
      r.forward(c, r.deviceSide, 'toDevice');
      r.fireTriggers();
    });
    r.deviceSide.on('data', (c: Buffer) => r.forward(c, r.hostSide, 'toHost'));
    return r;
  }

  /** Discards everything in both directions for ms, like an unplugged cable. */
  cut(ms: number): void {
    this.cutUntil = Math.max(this.cutUntil, Date.now() + ms);
  }

  reconnect(): void {
    this.cutUntil = 0;
  }

  /** Runs action once the host has sent `hostBytes` bytes in total. */
  at(hostBytes: number, action: () => void): void {
    this.triggers.push({ at: hostBytes, action });
  }

  clearTriggers(): void {
    this.triggers = [];
  }

  private fireTriggers(): void {
    const due = this.triggers.filter((t) => t.at <= this.hostBytes);
    this.triggers = this.triggers.filter((t) => t.at > this.hostBytes);
    for (const t of due) t.action();
  }

  private forward(chunk: Buffer, to: SerialPort, dir: Direction): void {
    if (Date.now() < this.cutUntil) {
      this.stats.cutBytes += chunk.length;
      return;
    }
    const { dropRate, corruptRate, maxDelayMs } = this.faults;
    const out: number[] = [];
    for (const b of chunk) {
      if (dropRate > 0 && this.rng.next() < dropRate) {
        this.stats.dropped++;
        continue;
      }
      if (corruptRate > 0 && this.rng.next() < corruptRate) {
        this.stats.corrupted++;
        out.push(b ^ (1 << this.rng.int(0, 7)));
      } else out.push(b);
    }
    if (!out.length) return;
    this.stats.forwarded += out.length;
    const data = Buffer.from(out);
    if (maxDelayMs <= 0 && this.lastDelivery[dir] <= Date.now()) {
      to.write(data);
      return;
    }
    const when = Math.max(this.lastDelivery[dir], Date.now() + this.rng.uniform(0, maxDelayMs));
    this.lastDelivery[dir] = when;
    setTimeout(() => {
      if (to.isOpen) to.write(data);
    }, when - Date.now());
  }

  async stop(): Promise<void> {
    for (const p of [this.hostSide, this.deviceSide]) if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
    this.pty.close();
  }
}

function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  return new Promise((res, rej) => port.open((e) => (e ? rej(e) : res(port))));
}
