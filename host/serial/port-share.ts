// One host-side connection per serial port. `morsel monitor` owns the port and serves a local Unix socket beside
// it (sharePath); `run --port`, `flash` and `workload` on the same port find the socket and talk through monitor's
// connection instead of opening the port a second time (two openers of one tty each get part of its bytes).
// The share forwards whole frames: each request's sequence number is replaced by one of the share's own on the way
// to the board and restored on the answer, so clients choosing the same numbers never get each other's answers;
// unsolicited frames (TELEMETRY, LOG) go to every client.

import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Link } from './link';
import { BoardError, decodeFrame, encodeFrame, FRAME_OVERHEAD, MAX_PAYLOAD } from './protocol';
import { SlipDecoder, slipEncode } from './slip';

/** The socket a port's owner serves: one per port, whatever path (a symlink, say) names it. */
export function sharePath(port: string): string {
  let real = port;
  try {
    real = fs.realpathSync(port);
  } catch {
    // a port that does not exist: nobody can be sharing it
  }
  return path.join(os.tmpdir(), `morsel-port${real.replace(/[^A-Za-z0-9]/g, '_')}.sock`);
}

/** Whether a monitor serves this port's share now. */
export async function isShared(port: string): Promise<boolean> {
  const link = await SocketLink.connect(sharePath(port));
  await link?.close();
  return link !== null;
}

/** A Link over the share's socket, for a client of a port that `monitor` owns. */
export class SocketLink implements Link {
  bytesOut = 0;
  bytesIn = 0;
  private listeners: ((chunk: Buffer) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      for (const l of this.listeners) l(chunk);
    });
    socket.on('error', () => undefined); // a closed share shows as the client's timeout
  }

  /** The share's link, or null when nobody serves the socket (absent, or left behind by a killed monitor). */
  static connect(socketPath: string): Promise<SocketLink | null> {
    if (!fs.existsSync(socketPath)) return Promise.resolve(null);
    return new Promise((resolve) => {
      const socket = net.connect(socketPath);
      socket.once('connect', () => resolve(new SocketLink(socket)));
      socket.once('error', () => resolve(null));
    });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }

  write(data: Buffer): Promise<void> {
    if (this.socket.destroyed) return Promise.reject(new BoardError('the port share closed (monitor ended)'));
    return new Promise((resolve, reject) =>
      this.socket.write(data, (e) => {
        if (e) reject(e);
        else {
          this.bytesOut += data.length;
          resolve();
        }
      }),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }
}

/** Someone the share forwards for: the owner's own client or a socket client. */
interface Endpoint {
  decoder: SlipDecoder;
  deliver(wire: Buffer): void;
}

/** A Link for the owner's own client: its frames go through the same routing as every socket client's. */
class LocalLink implements Link {
  bytesOut = 0;
  bytesIn = 0;
  listeners: ((chunk: Buffer) => void)[] = [];
  constructor(private readonly send: (data: Buffer) => Promise<void>) {}
  onData(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }
  async write(data: Buffer): Promise<void> {
    await this.send(data);
    this.bytesOut += data.length;
  }
  async close(): Promise<void> {}
}

export class PortShare {
  /** The owner's own Link (give it to a DeviceClient as if it were the port). */
  readonly local: Link;
  /** Requests forwarded for socket clients, for the report. */
  forwarded = 0;
  private readonly routes = new Map<number, { from: Endpoint; seq: number }>();
  private nextSeq = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly endpoints = new Set<Endpoint>();
  private readonly sockets = new Set<net.Socket>();
  private readonly own: Endpoint;

  private constructor(
    private readonly port: Link,
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {
    const maxFrame = MAX_PAYLOAD + FRAME_OVERHEAD;
    const fromBoard = new SlipDecoder(maxFrame);
    port.onData((chunk) => {
      for (const raw of fromBoard.push(chunk)) this.toHost(raw);
    });
    const local = new LocalLink((data) => this.fromHost(own, data));
    const own: Endpoint = (this.own = {
      decoder: new SlipDecoder(maxFrame),
      deliver: (wire) => {
        local.bytesIn += wire.length;
        for (const l of local.listeners) l(wire);
      },
    });
    this.endpoints.add(own);
    this.local = local;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      const ep: Endpoint = { decoder: new SlipDecoder(maxFrame), deliver: (wire) => socket.write(wire) };
      this.endpoints.add(ep);
      socket.on('data', (chunk: Buffer) => void this.fromHost(ep, chunk).catch(() => socket.destroy()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.endpoints.delete(ep);
        for (const [seq, r] of this.routes) if (r.from === ep) this.routes.delete(seq);
      });
    });
  }

  /** Serves `port` (already open) on its share socket; a socket file nobody answers on is replaced. */
  static async serve(port: Link, portPath: string): Promise<PortShare> {
    const socketPath = sharePath(portPath);
    const other = await SocketLink.connect(socketPath);
    if (other) {
      await other.close();
      throw new BoardError(`${portPath} is already shared by another morsel monitor (${socketPath})`);
    }
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new BoardError(`cannot share ${portPath} on ${socketPath}: ${e.message}`)));
      server.listen(socketPath, () => resolve());
    });
    return new PortShare(port, server, socketPath);
  }

  /** Frames a host-side client sent: requests get one of the share's sequence numbers, then go to the board in order. */
  private fromHost(from: Endpoint, chunk: Buffer): Promise<void> {
    for (const raw of from.decoder.push(chunk)) {
      const f = decodeFrame(raw);
      if (!f) continue; // a frame the client broke would be dropped by the board too
      let seq = 0;
      if (f.seq !== 0) {
        seq = this.allocSeq();
        this.routes.set(seq, { from, seq: f.seq });
        if (from !== this.own) this.forwarded++;
      }
      const wire = slipEncode(encodeFrame(f.type, seq, f.payload));
      this.writing = this.writing.then(() => this.port.write(wire));
    }
    return this.writing;
  }

  /** A frame from the board: an answer to its requester under the requester's own number; the rest to everyone. */
  private toHost(raw: Buffer): void {
    const f = decodeFrame(raw);
    if (!f) return; // each client would count it; the owner's monitor shows the board's own frame errors
    const route = f.seq !== 0 ? this.routes.get(f.seq) : undefined;
    if (route) {
      this.routes.delete(f.seq);
      return route.from.deliver(slipEncode(encodeFrame(f.type, route.seq, f.payload)));
    }
    const wire = slipEncode(raw);
    for (const ep of this.endpoints) ep.deliver(wire);
  }

  /** 1–255, skipping numbers still awaiting an answer (the oldest is reused when all are). */
  private allocSeq(): number {
    for (let i = 0; i < 255; i++) {
      this.nextSeq = (this.nextSeq % 255) + 1;
      if (!this.routes.has(this.nextSeq)) return this.nextSeq;
    }
    return this.nextSeq;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }
}
