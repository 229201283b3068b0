import { memoryWarnings, TARGET_NAMES } from '../memory/cost-model';
import * as fs from 'fs';
import * as path from 'path';
import { OPTIMIZE_GOALS } from '../blob/weights';
import { verifyBlob } from '../blob/verify';
import { compileFile, EQUALIZATIONS, WEIGHT_ROUNDINGS } from '../compile';
import { emitCHeader } from '../emit/c-header';
import { emitJsModule } from '../emit/js-module';
import { isTfliteFile } from '../import/tflite';
import { compileTflite } from '../import/tflite/compile';
import type { ObserverKind } from '../quantize/calibrate';
import { ROUNDING_MODES, type RoundingMode } from '../quantize/fixedpoint';
import { writeFileAtomic } from '../util/fs';
import { BUNDLE_TARGETS, defaultBundleFile, modelBundle } from './bundle';
import type { Command } from './main';
import { outputFile, UsageError } from './main';

const OBSERVERS: ObserverKind[] = ['minmax', 'percentile', 'mse', 'auto'];

export function parseChoice<T extends string>(flag: string, value: unknown, choices: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (!choices.includes(value as T))
    throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got '${value}')`);
  return value as T;
}

export function parseCount(flag: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer (got '${value}')`);
  return n;
}

/**
 * --batch (default 1): the batch a model compiles for. The device runs one sample per inference, so a model's fixed
 * or symbolic leading batch becomes 1 (with a notice when a fixed one was rewritten) and only 1 is accepted.
 */
export function parseBatch(value: unknown): void {
  const n = parseCount('--batch', value, 1);
  if (n !== 1)
    throw new UsageError(`--batch ${n}: the device runs one sample per inference; only --batch 1 is supported`);
}

export const convertCommand: Command = {
  summary:
    'import, optimize, calibrate and quantize a model to an int8 blob (.msl), with optional C header and JS module',
  usage:
    'morsel convert <model.onnx|model.json|model.tflite> [--calib <data>] -o <model.msl> [--calib-count N] ' +
    '[--observer minmax|percentile|mse|auto] [--equalize none|weights|activations] [--weight-rounding nearest|gptq] [--rounding double|single|tflite] ' +
    '[--optimize size|speed|balanced] [--batch 1] [--c-header] [--js] [--bundle es5|espruino|lua]',
  options: {
    output: { type: 'string', short: 'o' },
    calib: { type: 'string' },
    'calib-count': { type: 'string' },
    observer: { type: 'string' },
    equalize: { type: 'string' },
    'weight-rounding': { type: 'string' },
    rounding: { type: 'string' },
    optimize: { type: 'string' },
    'c-header': { type: 'boolean' },
    js: { type: 'boolean' },
    bundle: { type: 'string' },
    batch: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values, positionals }) {
    const [input] = positionals;
    parseBatch(values.batch);
    const out = values.output as string | undefined;
    if (!input) throw new UsageError(`missing <model>\nusage: ${this.usage}`);
    if (!out) throw new UsageError(`missing -o <model.msl>\nusage: ${this.usage}`);
    outputFile(out, 'model.msl');
    const started = Date.now();
    const options = {
      calib: values.calib as string | undefined,
      calibCount: parseCount('--calib-count', values['calib-count'], 1000),
      observer: parseChoice('--observer', values.observer, OBSERVERS, 'minmax'),
      equalize: parseChoice('--equalize', values.equalize, EQUALIZATIONS, 'none'),
      weightRounding: parseChoice('--weight-rounding', values['weight-rounding'], WEIGHT_ROUNDINGS, 'nearest'),
      rounding: parseChoice<RoundingMode>('--rounding', values.rounding, ROUNDING_MODES, 'double'),
      optimize: parseChoice('--optimize', values.optimize, OPTIMIZE_GOALS, 'balanced'),
      quiet: values.quiet === true,
    };
    // An int8 .tflite keeps its own quantization (no calibration); everything else goes through the compiler.
    const compiled = isTfliteFile(input) ? compileTflite(input, options) : compileFile(input, options);
    const notice = 'source' in compiled ? compiled.source.meta.notice : undefined;
    if (notice && !values.quiet) console.error(`notice: ${notice}`);
    verifyBlob(compiled.blob);
    const name = path.basename(out).replace(/\.[^.]*$/, '');
    // Everything is rendered before anything is written, so an error leaves no partial set of outputs.
    const files: [string, string | Uint8Array][] = [[out, compiled.blob]];
    if (values['c-header']) files.push([out.replace(/\.msl$/, '') + '.h', emitCHeader(compiled.blob, name)]);
    if (values.js) files.push([out.replace(/\.msl$/, '') + '.js', emitJsModule(compiled.blob, name)]);
    if (values.bundle !== undefined) {
      const target = parseChoice('--bundle', values.bundle, BUNDLE_TARGETS, 'es5');
      files.push([defaultBundleFile(out, target), await modelBundle(compiled.blob, target)]);
    }
    for (const [file, data] of files) {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      writeFileAtomic(file, data);
    }
    const m = compiled.model;
    if (!values.quiet) {
      console.log(
        `wrote ${files.map(([f]) => f).join(', ')}: ${compiled.blob.length.toLocaleString('en-US')} bytes, ` +
          `arena ${m.arenaBytes.toLocaleString('en-US')} bytes, ${m.ops.length} ops, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      for (const w of memoryWarnings(m, compiled.blob.length, TARGET_NAMES)) console.error(w);
    }
    return 0;
  },
};
