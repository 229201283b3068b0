// `morsel export`: a Morsel model back to a .tflite FlatBuffer (runs in stock TFLite and TFLite Micro, opens in Netron).

import * as fs from 'fs';
import * as path from 'path';
import { exportTflite } from '../export/tflite';
import { writeFileAtomic } from '../util/fs';
import { loadQModel } from './layer-diff';
import type { Command } from './main';
import { outputFile, UsageError } from './main';

export const exportCommand: Command = {
  summary: 'write a Morsel model (.msl, or an int8 .tflite re-exported) as a TFLite FlatBuffer (.tflite)',
  usage: 'morsel export <model.msl> --tflite -o <out.tflite>',
  options: { tflite: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    const out = values.output as string | undefined;
    if (!file || !out) throw new UsageError(`missing <model.msl> or -o <out.tflite>\nusage: ${this.usage}`);
    outputFile(out, 'model.tflite');
    if (!values.tflite) throw new UsageError(`choose the export format (only --tflite exists)\nusage: ${this.usage}`);
    const bytes = exportTflite(loadQModel(file));
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileAtomic(out, bytes);
    console.log(`wrote ${out}: ${bytes.length.toLocaleString('en-US')} bytes`);
    return 0;
  },
};
