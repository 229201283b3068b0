// The fleet's MQTT contract (docs/fleet.md): one topic tree per device under morsel/<fleet>/<device>/, the
// agent's frames carried unchanged.

import type { Telemetry } from '../serial/protocol';

export const DEFAULT_FLEET = 'default';

export type DeviceTopic = 'up' | 'down' | 'telemetry' | 'samples' | 'info' | 'status';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Fleet and device names become topic levels: no wildcards, separators or empty names. */
export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new Error(`bad ${kind} name '${name}': use 1–64 of A-Z a-z 0-9 _ . -`);
  return name;
}

export const deviceTopic = (fleet: string, device: string, t: DeviceTopic) => `morsel/${fleet}/${device}/${t}`;
/** Every device's topic t in a fleet ('+' for every fleet). */
export const fleetTopic = (fleet: string, t: DeviceTopic) => `morsel/${fleet}/+/${t}`;
/** Retained blob images by CRC, so a rollout can always restore the model a device had. */
export const blobTopic = (fleet: string, crc: number) => `morsel/${fleet}/$blob/${crcHex(crc)}`;
/** Retained state of the latest rollout. */
export const rolloutTopic = (fleet: string) => `morsel/${fleet}/$rollout`;
/** Requests to the fleet server (status); the answer goes to the topic named in the request. */
export const serverTopic = (fleet: string) => `morsel/${fleet}/$server/status`;

/** morsel/<fleet>/<device>/<topic> → its parts, or null for anything else. */
export function parseDeviceTopic(topic: string): { fleet: string; device: string; topic: DeviceTopic } | null {
  const p = topic.split('/');
  if (p.length !== 4 || p[0] !== 'morsel' || p[2].startsWith('$')) return null;
  return { fleet: p[1], device: p[2], topic: p[3] as DeviceTopic };
}

export const crcHex = (crc: number) => (crc >>> 0).toString(16).padStart(8, '0');

/** What a board publishes (QoS 1) on morsel/<fleet>/<device>/telemetry. */
export interface FleetTelemetry {
  /**
   * Wall-clock ms when the board sent it (end-to-end latency on one machine); absent from the agent's own MQTT
   * link (device/agent/mqtt.ts): a board has no wall clock.
   */
  sent_ms?: number;
  model_crc: number | null;
  /** The agent's TELEMETRY frame, as is. */
  agent: Telemetry;
  /** The application's view since the previous report: every inference's latency, top-1 class and confidence. */
  latency_us: number[];
  classes: number[];
  /** Top-1 confidence in CONF_BINS equal bins over [0, 1]. */
  confidence: number[];
  run_errors: number;
}

export const CONF_BINS = 10;

/** Retained on morsel/<fleet>/<device>/info: the agent's INFO plus what the transport knows. */
export interface FleetInfo {
  id: string;
  group: string;
  engine: string;
  transport: 'mqtt' | 'gateway';
  model: { crc: number; size: number; input: number[]; output: number[] } | null;
  pending: { crc: number; size: number; have: number } | null;
  free: number;
  agent: number;
  runtime: number;
  /** The agent's nonce, which the next deploy's upload tags are bound to (host/serial/auth.ts); null: no key. */
  auth: { nonce: string } | null;
}

/** A hard sample on morsel/<fleet>/<device>/samples: an input the model was unsure about. */
export interface HardSample {
  sent_ms: number;
  model_crc: number;
  pred: number;
  confidence: number;
  shape: number[];
  /** The int8 input as the model saw it, base64, and its quantization (to store real values). */
  x: string;
  scale: number;
  zero_point: number;
}
