// A byte link to a device over a serial port (the `serialport` package), with a write watchdog.
// serialport 13 can stall a write for good when the other side sends while the write waits for buffer
// space; the protocol avoids that with bounded windows, and the watchdog reopens the port if it happens anyway.

import * as fs from 'fs';
import { SerialPort } from 'serialport';
import { BoardError } from './protocol';

export interface Link {
  write(data: Buffer): Promise<void>;
  onData(listener: (chunk: Buffer) => void): void;
  close(): Promise<void>;
  /** Bytes written and read since open. */
  readonly bytesOut: number;
  readonly bytesIn: number;
}

export class LinkStalledError extends BoardError {
  constructor(ms: number) {
    super(`serial write did not complete within ${ms} ms; port reopened`);
    this.name = 'LinkStalledError';
  }
}

export interface SerialLinkOptions {
  baudRate?: number;
  /** A write of n bytes may take n / bytesPerSecond plus this before the watchdog fires. */
  writeSlackMs?: number;
  bytesPerSecond?: number;
}

export class SerialLink implements Link {
  bytesOut = 0;
  bytesIn = 0;
  private port!: SerialPort;
  private listeners: ((chunk: Buffer) => void)[] = [];
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly opts: Required<SerialLinkOptions>,
  ) {}

  static async open(path: string, opts: SerialLinkOptions = {}): Promise<SerialLink> {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path);
    } catch {
      throw new BoardError(`cannot open ${path}: no such port`);
    }
    if (!stat.isCharacterDevice()) throw new BoardError(`cannot open ${path}: not a serial device`);
    const link = new SerialLink(path, { baudRate: 115200, writeSlackMs: 2000, bytesPerSecond: 11520, ...opts });
    await link.openPort();
    return link;
  }

  private openPort(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.opts.baudRate, autoOpen: false });
    port.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      for (const l of this.listeners) l(chunk);
    });
    port.on('error', () => undefined); // surfaced through write/open callbacks
    this.port = port;
    return new Promise((resolve, reject) =>
      port.open((e) => (e ? reject(new BoardError(`cannot open ${this.path}: ${e.message}`)) : resolve())),
    );
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }

  write(data: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('link closed'));
    const limit = this.opts.writeSlackMs + (1000 * data.length) / this.opts.bytesPerSecond;
    const port = this.port;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        this.reopen().then(() => reject(new LinkStalledError(Math.round(limit))), reject);
      }, limit);
      port.write(data);
      port.drain((e) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (e) reject(e);
        else {
          this.bytesOut += data.length;
          resolve();
        }
      });
    });
  }

  private async reopen(): Promise<void> {
    const old = this.port;
    old.removeAllListeners('data');
    // close() can hang behind the stalled write too; the fd is released either way.
    await Promise.race([new Promise<void>((r) => old.close(() => r())), new Promise<void>((r) => setTimeout(r, 500))]);
    if (!this.closed) await this.openPort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const port = this.port;
    if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }
}
