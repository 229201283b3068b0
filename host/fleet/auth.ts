// Signed deploys with the serial link's upload MAC (host/serial/auth.ts): the deployer sends an AUTH
// manifest carrying beginTag(key, {device id, the board's nonce, size, CRC}); the board's transport checks it
// before any PUT reaches the agent and lets through only the PUT_BEGIN of that blob. The nonce is the
// board's (published in its retained info) and changes after every finished upload, so a recorded manifest
// never opens a board again, and the device id keeps one board's manifest from opening another.

import { randomBytes } from 'crypto';
import { beginTag, tagsEqual } from '../serial/auth';

export interface DeployManifest {
  size: number;
  crc: number;
  /** beginTag in hex. */
  tag: string;
}

export function signDeploy(
  key: Uint8Array,
  device: string,
  nonce: string,
  blob: { size: number; crc: number },
): DeployManifest {
  const tag = beginTag(key, { deviceId: device, nonce, size: blob.size, crc: blob.crc >>> 0 });
  return { size: blob.size, crc: blob.crc >>> 0, tag: Buffer.from(tag).toString('hex') };
}

/** Why the manifest is refused, or null when it is genuine for this board's current nonce. */
export function checkDeploy(key: Uint8Array, device: string, nonce: string, m: Partial<DeployManifest>): string | null {
  if (typeof m.tag !== 'string' || !Number.isInteger(m.size) || !Number.isInteger(m.crc))
    return 'unsigned deploy (the manifest needs size, crc and tag)';
  const want = beginTag(key, { deviceId: device, nonce, size: m.size!, crc: m.crc! >>> 0 });
  if (!tagsEqual(Buffer.from(m.tag, 'hex'), want))
    return 'bad tag: wrong key, another board, or a replay of a deploy signed for an earlier nonce';
  return null;
}

export const newNonce = () => randomBytes(8).toString('hex');
