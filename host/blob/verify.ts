// The one blob verifier: every command that writes, sends or reads a blob passes it through verifyBlob. It decodes
// the blob (host/blob/decode.ts) and loads it with the device runtime itself, the built ES5 bundle in a node vm
// context, so the host refuses exactly what a board refuses (device/format/verify.ts and every prepare check),
// with the device's MRSL_E_* code and the layer named.

import * as fs from 'fs';
import * as vm from 'vm';
import { defaultBundlePath } from '../engines';
import type { QModel } from '../ir/qmodel';
import { decodeModel } from './decode';
import { BlobFormatError } from './flatbuffer';

/** The device bundle evaluated once in a vm context, and that context's Uint8Array (its load checks the realm's). */
let device: { load(bytes: Uint8Array): unknown; Bytes: Uint8ArrayConstructor } | undefined;

function deviceRuntime(): NonNullable<typeof device> {
  if (!device) {
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(defaultBundlePath(), 'utf8'), ctx);
    device = { load: ctx.Morsel.load, Bytes: vm.runInContext('Uint8Array', ctx) };
  }
  return device;
}

/** The device runtime's load of `bytes`: undefined when it accepts them, else its MRSL_E_* message. */
export function deviceRefusal(bytes: Uint8Array): string | undefined {
  try {
    const { load, Bytes } = deviceRuntime();
    load(Bytes.from(bytes));
    return undefined;
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    if (!message.startsWith('MRSL_E_')) throw e;
    return message;
  }
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
