// The one blob verifier: every command that writes, sends or reads a blob passes it through verifyBlob. It decodes
// the blob (host/blob/decode.ts) and loads it with the device runtime itself: device/runtime.ts over the full op
// registry (device/ops.ts), imported as modules (the host's tsc compiles device/ too; device/platform/api.js gives
// them the ES5 platform), so the host refuses exactly what a board refuses (device/format/verify.ts and every
// kernel's prepare checks), with the device's MRSL_E_* code and the layer named, and needs no built bundle.

import * as fs from 'fs';
import { OPS } from '../../device/ops';
import { runtime } from '../../device/runtime';
import { DEVICE_MESSAGES } from '../ir/device-messages';
import type { QModel } from '../ir/qmodel';
import { decodeModel } from './decode';
import { morselSchema } from './fbs';
import { BlobFormatError } from './flatbuffer';

const device = runtime(OPS);

/** The device runtime's load of `bytes`: undefined when it accepts them, else its MRSL_E_* message. */
export function deviceRefusal(bytes: Uint8Array): string | undefined {
  try {
    device.load(bytes);
    return undefined;
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    if (!message.startsWith('MRSL_E_')) throw e;
    return message;
  }
}

/**
 * A device refusal in words. The bundles number their refusals (tools/device-messages.ts): `MRSL_E_<n>: [op N] #K
 * v1 v2` is error code n of the schema's ErrorCode, text K of host/ir/device-messages.ts with each '%' filled by a
 * value in turn: the values are the words that follow, up to a quote or a line's end, and the last '%' takes all
 * that are left. Anything else, and a number either table lacks, stays.
 */
export function explainDeviceError(message: string): string {
  const codes = morselSchema().enums.get('ErrorCode')!.values;
  const named = (n: string) => [...codes].find(([, v]) => v === Number(n))?.[0];
  return message.replace(
    /MRSL_E_(\d+)(: (?:op -?\d+ )?)(?:#(\d+)((?: [^\s"'\\]+)+)?)?/g,
    (whole, code: string, head: string, id?: string, rest?: string) => {
      const name = named(code);
      if (name === undefined) return whole;
      if (id === undefined) return `MRSL_E_${name}${head}`;
      const pieces = DEVICE_MESSAGES[Number(id) - 1]?.split('%');
      const tokens = rest === undefined ? [] : rest.slice(1).split(' ');
      if (pieces === undefined || (pieces.length === 1) !== (rest === undefined) || tokens.length < pieces.length - 1)
        return whole;
      const values = [...tokens.slice(0, pieces.length - 2), tokens.slice(pieces.length - 2).join(' ')];
      return `MRSL_E_${name}${head}${pieces.map((p, i) => p + (i < pieces.length - 1 ? values[i] : '')).join('')}`;
    },
  );
}

/** The decoded model of a blob both the host and the device runtime accept; else a BlobFormatError naming why. */
export function verifyBlob(bytes: Uint8Array): QModel {
  const model = decodeModel(bytes);
  const refusal = deviceRefusal(bytes);
  if (refusal !== undefined) {
    const op = /\bop (\d+)\b/.exec(refusal);
    const layer = op && model.ops[Number(op[1])] ? ` (layer '${model.ops[Number(op[1])].name}')` : '';
    throw new BlobFormatError(`the device runtime refuses this blob: ${refusal}${layer}`);
  }
  return model;
}

/** A blob file read and verified. */
export function readBlobFile(file: string): { bytes: Uint8Array; model: QModel } {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return { bytes, model: verifyBlob(bytes) };
}
