// Signed deploys: a manifest {size, crc, counter} with an HMAC-SHA256 over the fleet, the device, the blob's
// size and CRC and a counter. The board's transport accepts a PUT only for the blob its last valid manifest
// named, and only manifests whose counter is above the last one it accepted (kept in its flash): an unsigned,
// forged, retargeted or replayed deploy is refused before a byte reaches the agent.

import { createHmac, timingSafeEqual } from 'crypto';
import * as fs from 'fs';

export interface DeployManifest {
  size: number;
  crc: number;
  /** Strictly increasing per device: the deploy's wall-clock ms. */
  counter: number;
  mac: string;
}

function macOf(key: Buffer, fleet: string, device: string, size: number, crc: number, counter: number): string {
  return createHmac('sha256', key)
    .update(`morsel-deploy\0${fleet}\0${device}\0${size}\0${crc >>> 0}\0${counter}`)
    .digest('hex');
}

export function signManifest(
  key: Buffer,
  fleet: string,
  device: string,
  blob: { size: number; crc: number },
  counter: number,
): DeployManifest {
  return {
    size: blob.size,
    crc: blob.crc >>> 0,
    counter,
    mac: macOf(key, fleet, device, blob.size, blob.crc, counter),
  };
}

/** Why the manifest is refused, or null when it is genuine and newer than `lastCounter`. */
export function checkManifest(
  key: Buffer,
  fleet: string,
  device: string,
  m: Partial<DeployManifest>,
  lastCounter: number,
): string | null {
  if (
    typeof m.mac !== 'string' ||
    !Number.isInteger(m.size) ||
    !Number.isInteger(m.crc) ||
    !Number.isInteger(m.counter)
  )
    return 'unsigned deploy (manifest needs size, crc, counter and mac)';
  const want = Buffer.from(macOf(key, fleet, device, m.size!, m.crc!, m.counter!), 'hex');
  const got = Buffer.from(m.mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'bad signature';
  if (m.counter! <= lastCounter) return `replayed deploy (counter ${m.counter} ≤ ${lastCounter} already accepted)`;
  return null;
}

/** The fleet key: --key FILE (raw bytes or hex), else $MORSEL_FLEET_KEY (hex), else null. */
export function loadFleetKey(file?: string): Buffer | null {
  if (file) {
    const raw = fs.readFileSync(file);
    const text = raw.toString('latin1').trim();
    return /^[0-9a-fA-F]{32,}$/.test(text) ? Buffer.from(text, 'hex') : raw;
  }
  const env = process.env.MORSEL_FLEET_KEY;
  if (env && /^[0-9a-fA-F]{32,}$/.test(env)) return Buffer.from(env, 'hex');
  return null;
}
