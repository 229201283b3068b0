// Authenticated uploads: the key a board is provisioned with, and the HMAC-SHA256 tags that bind an upload
// to that key, the board, the board's current nonce and the blob (docs/protocol.md, "Authentication").
// The device computes the same messages in device/agent/auth.ts; the fleet's signed deploys use this module.
//
//   begin tag  = HMAC(key, "morsel-put-v1"    0 deviceId 0 nonce 0 u32le size u32le crc32)
//   commit tag = HMAC(key, "morsel-commit-v1" 0 deviceId 0 nonce 0 u32le size u32le crc32 SHA-256(blob))
//   uninstall tag = HMAC(key, "morsel-uninstall-v1" 0 deviceId 0 nonce 0 u32le 0 u32le 0)
//
// The nonce is chosen by the board and changes after every finished upload, so a recorded tag never
// verifies again; the device id keeps a tag for one board from opening another that shares the key.

import { randomBytes, timingSafeEqual } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { UsageError } from '../cli/main';

export { TAG_BYTES } from './protocol-codes';
export const KEY_BYTES = 32;
/** The key file is 64 hex digits and a newline. */
const KEY_PATTERN = /^[0-9a-f]{64}$/;

/** What a tag is bound to: the board (INFO `id`, `auth.nonce`) and the blob (size and CRC-32). */
export interface UploadBinding {
  deviceId: string;
  nonce: string;
  size: number;
  crc: number;
}

export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

export function formatKey(key: Uint8Array): string {
  return `${Buffer.from(key).toString('hex')}\n`;
}

/** The key in a key file's text; `source` names the file in the error. */
export function parseKey(text: string, source: string): Uint8Array {
  const hex = text.trim().toLowerCase();
  if (!KEY_PATTERN.test(hex)) throw new UsageError(`${source}: not a Morsel key (expected 64 hex digits)`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** $MORSEL_KEY_FILE, else ~/.config/morsel/flash.key: where `morsel keygen` writes and `flash` looks. */
export function defaultKeyFile(): string {
  return process.env.MORSEL_KEY_FILE ?? path.join(os.homedir(), '.config', 'morsel', 'flash.key');
}

/** Writes a new key readable by its owner only; refuses to replace an existing key unless `force`. */
export function writeKeyFile(file: string, key: Uint8Array, force = false): void {
  if (fs.existsSync(file) && !force)
    throw new UsageError(`${file} exists: boards provisioned with it would be locked out (use --force to replace it)`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, formatKey(key), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

export function readKeyFile(file: string): Uint8Array {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read key file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseKey(text, file);
}

/**
 * The key a command uses: `--key FILE`, else the default key file when it exists; null only with
 * `--insecure`, which must be asked for explicitly (and excludes --key).
 */
export function resolveKey(opts: { keyFile?: string; insecure?: boolean }): Uint8Array | null {
  if (opts.insecure) {
    if (opts.keyFile) throw new UsageError('--key and --insecure exclude each other');
    return null;
  }
  const file = opts.keyFile ?? defaultKeyFile();
  if (!opts.keyFile && !fs.existsSync(file))
    throw new UsageError(
      `no key: create one with 'morsel keygen' (writes ${file}), pass --key FILE, or --insecure for a board without authentication`,
    );
  return readKeyFile(file);
}

export function blobDigest(blob: Uint8Array): Uint8Array {
  return sha256(blob);
}

function message(label: string, b: UploadBinding, tail: Uint8Array): Uint8Array {
  const head = Buffer.from(`${label}\0${b.deviceId}\0${b.nonce}\0`, 'latin1');
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32LE(b.size, 0);
  sizes.writeUInt32LE(b.crc >>> 0, 4);
  return Buffer.concat([head, sizes, tail]);
}

/** Authorizes PUT_BEGIN: starting (or resuming) this upload on this board under its current nonce. */
export function beginTag(key: Uint8Array, b: UploadBinding): Uint8Array {
  return hmac(sha256, key, message('morsel-put-v1', b, new Uint8Array(0)));
}

/** Authorizes COMMIT: `digest` is blobDigest(blob), so a signer hashes a blob once for many boards. */
export function commitTag(key: Uint8Array, b: UploadBinding, digest: Uint8Array): Uint8Array {
  return hmac(sha256, key, message('morsel-commit-v1', b, digest));
}

/** Authorizes UNINSTALL on this board under its current nonce (size and crc 0: no blob is bound). */
export function uninstallTag(key: Uint8Array, deviceId: string, nonce: string): Uint8Array {
  return hmac(sha256, key, message('morsel-uninstall-v1', { deviceId, nonce, size: 0, crc: 0 }, new Uint8Array(0)));
}

/**
 * Authorizes WORKLOAD on this board under its current nonce: `periodMs` in the size field, the CRC-32 of the
 * inputs in the crc field (period 0 and no inputs stop the workload).
 */
export function workloadTag(key: Uint8Array, deviceId: string, nonce: string, periodMs: number, inputsCrc: number) {
  return hmac(
    sha256,
    key,
    message('morsel-workload-v1', { deviceId, nonce, size: periodMs, crc: inputsCrc }, new Uint8Array(0)),
  );
}

/** Constant-time comparison of two tags. */
export function tagsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
