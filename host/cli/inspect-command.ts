import * as fs from 'fs';
import { verifyBlob } from '../blob/verify';
import { isTfliteFile } from '../import/tflite';
import { compileTflite } from '../import/tflite/compile';
import type { Command } from './main';
import { UsageError } from './main';
import { formatInspect, inspectModel } from './inspect';

export const inspectCommand: Command = {
  summary: 'show a blob layer by layer: ops, shapes, MACs, weight bytes, arena offsets, scales',
  usage: 'morsel inspect <model.msl|int8 model.tflite> [--json]',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model.msl>\nusage: ${this.usage}`);
    // An int8 .tflite is shown as the blob it converts to (its own quantization, nothing to calibrate).
    const compiled = isTfliteFile(file) ? compileTflite(file) : undefined;
    const bytes = compiled?.blob ?? new Uint8Array(fs.readFileSync(file));
    const report = inspectModel(verifyBlob(bytes), bytes.length);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatInspect(report));
    return 0;
  },
};
