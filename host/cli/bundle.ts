// `morsel bundle model.msl --target es5|espruino|lua [-o file]`: a device runtime holding only the kernels the model
// uses (the registry's lines for its opcodes, tree-shaken by the bundlers: tools/build-device.ts), for boards short
// of flash or RAM. The full runtime, for boards that take any model, is dist/device/morsel.es5.js (JerryScript,
// Duktape, QuickJS), morsel.espruino.js (Espruino: its 64 KB view offsets, E.convolve) or morsel.lua.

import * as fs from 'fs';
import * as path from 'path';
import { bundleRuntime, modelEntry } from '../../tools/build-device';
import { writeFileAtomic } from '../util/fs';
import { parseChoice } from './convert';
import type { Command } from './main';
import { UsageError } from './main';

export const BUNDLE_TARGETS = ['es5', 'espruino', 'lua'] as const;
export type BundleTarget = (typeof BUNDLE_TARGETS)[number];

/** The runtime for `blob`'s opcodes as ES5 or for Espruino (each defines the global Morsel) or Lua (a chunk that returns Morsel). */
export async function modelBundle(blob: Uint8Array, target: BundleTarget): Promise<string> {
  return (await bundleRuntime(modelEntry(blob)))[target];
}

/** Where a model's bundle goes by default: beside it, model.es5.js, model.espruino.js or model.lua. */
export const defaultBundleFile = (blobFile: string, target: BundleTarget): string =>
  blobFile.replace(/\.msl$/, '') + (target === 'lua' ? '.lua' : `.${target}.js`);

export const bundleCommand: Command = {
  summary: 'a device runtime with only the kernels a blob uses (ES5 or Lua), beside the full one in dist/device',
  usage: 'morsel bundle <model.msl> --target es5|espruino|lua [-o <file>]',
  options: { target: { type: 'string' }, output: { type: 'string', short: 'o' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model.msl>\nusage: ${this.usage}`);
    if (values.target === undefined) throw new UsageError(`missing --target es5|espruino|lua\nusage: ${this.usage}`);
    const target = parseChoice('--target', values.target, BUNDLE_TARGETS, 'es5');
    const out = (values.output as string | undefined) ?? defaultBundleFile(file, target);
    const code = await modelBundle(new Uint8Array(fs.readFileSync(file)), target);
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileAtomic(out, code);
    console.log(`wrote ${out}: ${Buffer.byteLength(code).toLocaleString('en-US')} bytes`);
    return 0;
  },
};
