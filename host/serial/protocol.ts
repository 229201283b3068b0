// The serial protocol's frames and message types (docs/protocol.md). The device side is
// device/agent/protocol.ts and framing.ts; the HIL tests hold the two together.

import { crc32 } from '../blob/crc32';

export enum Msg {
  HELLO = 0x01,
  PUT_BEGIN = 0x02,
  PUT_DATA = 0x03,
  COMMIT = 0x04,
  RUN = 0x05,
  CONFIG = 0x06,
  INFO = 0x81,
  PUT_ACK = 0x82,
  COMMITTED = 0x84,
  RESULT = 0x85,
  CONFIG_OK = 0x86,
  TELEMETRY = 0x90,
  LOG = 0x91,
  ERROR = 0xee,
}

/** Largest frame payload the device accepts (device/agent/protocol.ts MAX_PAYLOAD). */
export const MAX_PAYLOAD = 4160;
/** type, seq, length u16, CRC-32. */
export const FRAME_OVERHEAD = 8;
/** PUT_DATA payload header: offset u32, flags u8 (1 = acknowledge). */
export const PUT_HEADER = 5;

export interface Frame {
  type: number;
  seq: number;
  payload: Buffer;
}

export function encodeFrame(type: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const f = Buffer.allocUnsafe(payload.length + FRAME_OVERHEAD);
  f[0] = type;
  f[1] = seq;
  f.writeUInt16LE(payload.length, 2);
  f.set(payload, 4);
  f.writeUInt32LE(crc32(f.subarray(0, payload.length + 4)), payload.length + 4);
  return f;
}

/** The frame, or null when it is short, has the wrong length or fails its CRC. */
export function decodeFrame(f: Buffer): Frame | null {
  if (f.length < FRAME_OVERHEAD || f.readUInt16LE(2) !== f.length - FRAME_OVERHEAD) return null;
  if (crc32(f.subarray(0, f.length - 4)) !== f.readUInt32LE(f.length - 4)) return null;
  return { type: f[0], seq: f[1], payload: f.subarray(4, f.length - 4) };
}

export interface DeviceInfo {
  id: string;
  engine: string;
  runtime: number;
  agent: number;
  free: number;
  max_payload: number;
  max_blob: number;
  model: { crc: number; size: number; input: number[]; output: number[] } | null;
  pending: { crc: number; size: number; have: number } | null;
}

export interface Telemetry {
  t: number;
  n: number;
  ips: number;
  p50_us: number;
  p95_us: number;
  free: number;
  errors: { frame: number; run: number; commit: number; boot: number };
}

export interface RunResult {
  y: number[];
  layer_us: number[];
  total_us: number;
}

export interface DeviceLog {
  level: string;
  message: string;
}
