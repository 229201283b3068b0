import * as fs from 'fs';
import { decodeModel } from '../blob/decode';
import type { Command } from './main';
import { UsageError } from './main';
import { formatInspect, inspectModel } from './inspect';

export const inspectCommand: Command = {
  summary: 'show a blob layer by layer: ops, shapes, MACs, weight bytes, arena offsets, scales',
  usage: 'morsel inspect <model.msl> [--json]',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model.msl>\nusage: ${this.usage}`);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = inspectModel(decodeModel(bytes), bytes.length);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatInspect(report));
    return 0;
  },
};
