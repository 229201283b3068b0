import * as fs from 'fs';
import { verifyBlob } from '../blob/verify';
import { isTfliteFile } from '../import/tflite';
import { compileTflite } from '../import/tflite/compile';
import { findTarget, formatPrediction, predictMemory, TARGET_NAMES } from '../memory/cost-model';
import type { Command } from './main';
import { UsageError } from './main';
import { formatInspect, inspectModel } from './inspect';

export const inspectCommand: Command = {
  summary: 'show a blob layer by layer: ops, shapes, MACs, weight bytes, arena offsets, scales',
  usage: `morsel inspect <model.msl|int8 model.tflite> [--target ${TARGET_NAMES.join('|')}] [--json]`,
  options: { json: { type: 'boolean' }, target: { type: 'string' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model.msl>\nusage: ${this.usage}`);
    const target = values.target === undefined ? undefined : findTarget(values.target as string);
    if (values.target !== undefined && !target)
      throw new UsageError(`unknown --target ${values.target} (one of ${TARGET_NAMES.join(', ')})`);
    // An int8 .tflite is shown as the blob it converts to (its own quantization, nothing to calibrate).
    const compiled = isTfliteFile(file) ? compileTflite(file) : undefined;
    const bytes = compiled?.blob ?? new Uint8Array(fs.readFileSync(file));
    const model = compiled?.model ?? verifyBlob(bytes);
    const report = inspectModel(model, bytes.length);
    // RAM on the board's firmware, from the cost model measured on real engine builds (host/memory).
    const memory = target ? predictMemory(model, bytes.length, target) : undefined;
    if (values.json) console.log(JSON.stringify(memory ? { ...report, memory } : report, null, 2));
    else console.log(formatInspect(report) + (memory ? `\n\nRAM on ${formatPrediction(memory)}` : ''));
    return 0;
  },
};
