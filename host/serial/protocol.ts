// The serial protocol's frames and message types (docs/protocol.md). The codes and limits come from the
// device's own device/agent/protocol.ts (generated into protocol-codes.ts); the HIL tests run both sides.

import { crc32 } from '../blob/crc32';
import { MAX_PAYLOAD, Msg } from './protocol-codes';

export { Msg } from './protocol-codes';

/** Largest frame payload the device accepts. */
export { MAX_PAYLOAD } from './protocol-codes';
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

/**
 * Something the board, its port or its line did (no answer, a refusal, a broken frame, a port that cannot be
 * opened): not a bug in Morsel, so the CLI reports it in one line with exit 2.
 */
export class BoardError extends Error {}

/** A frame from the board that breaks the protocol (wrong type, length or JSON): the board or the line is at fault. */
export class ProtocolError extends BoardError {
  constructor(message: string) {
    super(`board: ${message}`);
    this.name = 'ProtocolError';
  }
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
  /** null on a board installed without a key; `nonce` binds the next upload's tags (host/serial/auth.ts). */
  auth: { nonce: string } | null;
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

export interface Committed {
  crc: number;
  size: number;
  verify_ms: number;
}

// What each JSON message must hold. A field type is 'number' (finite), 'u32', 'string', 'int8[]', 'number[]',
// an object spec, or `[spec, 'null']` / `[spec, 'optional']`. A null field may be left out (the Lua agent's JSON
// has no null: typescript-to-lua's nil removes the key), so 'null' accepts an absent field too.
type Spec = string | { [field: string]: Spec } | [Spec, 'null' | 'optional'];

const U32 = 'u32';
const MODEL_SPEC: Spec = { crc: U32, size: U32, input: 'number[]', output: 'number[]' };
export const MESSAGE_SPECS = {
  INFO: {
    id: 'string',
    engine: 'string',
    runtime: 'number',
    agent: 'number',
    free: 'number',
    max_payload: U32,
    max_blob: U32,
    model: [MODEL_SPEC, 'null'],
    pending: [{ crc: U32, size: U32, have: U32 }, 'null'],
    auth: [[{ nonce: 'string' }, 'null'], 'optional'],
  },
  TELEMETRY: {
    t: 'number',
    n: 'number',
    ips: 'number',
    p50_us: 'number',
    p95_us: 'number',
    free: 'number',
    errors: { frame: 'number', run: 'number', commit: 'number', boot: 'number' },
  },
  RESULT: { y: 'int8[]', layer_us: 'number[]', total_us: 'number' },
  COMMITTED: { crc: U32, size: U32, verify_ms: 'number' },
  CONFIG_OK: { telemetry_ms: 'number' },
  UNINSTALLED: { erased: 'number' },
  WORKLOAD_OK: { period_ms: 'number', inputs: 'number' },
  LOG: { level: 'string', message: 'string' },
  ERROR: { code: 'string', message: 'string' },
} satisfies Record<string, Spec>;

function problem(v: unknown, spec: Spec, at: string): string | null {
  if (Array.isArray(spec)) {
    if ((v === null || v === undefined) && spec[1] === 'null') return null;
    if (v === undefined && spec[1] === 'optional') return null;
    return problem(v, spec[0], at);
  }
  if (typeof spec === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${at || 'payload'} is not an object`;
    for (const [k, s] of Object.entries(spec)) {
      const p = problem((v as Record<string, unknown>)[k], s, at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return null;
  }
  const ok =
    spec === 'string'
      ? typeof v === 'string'
      : spec === 'number'
        ? Number.isFinite(v)
        : spec === U32
          ? Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
          : Array.isArray(v) &&
            v.every((x) => (spec === 'int8[]' ? Number.isInteger(x) && x >= -128 && x <= 127 : Number.isFinite(x)));
  return ok ? null : `${at} is not ${spec === U32 ? 'a 32-bit unsigned integer' : `a ${spec}`}`;
}

/** The payload of a JSON message, checked against its spec; a ProtocolError names what is wrong. */
export function parseMessage<K extends keyof typeof MESSAGE_SPECS>(name: K, payload: Uint8Array): unknown {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('latin1'));
  } catch {
    throw new ProtocolError(
      `${name} payload is not JSON: ${JSON.stringify(Buffer.from(payload.subarray(0, 40)).toString('latin1'))}`,
    );
  }
  const p = problem(v, MESSAGE_SPECS[name], '');
  if (p) throw new ProtocolError(`invalid ${name}: ${p}`);
  return v;
}
