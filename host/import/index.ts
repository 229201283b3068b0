import * as fs from 'fs';
import { Graph, ModelError } from '../ir/graph';
import { importOnnx } from './onnx';
import { importTfjs } from './tfjs';

/** Imports a model file, choosing the importer by content. */
export function importModel(file: string): Graph {
  if (!fs.existsSync(file)) throw new ModelError(`model file not found: ${file}`);
  const head = fs.readFileSync(file).subarray(0, 64);
  if (file.endsWith('.json') || head[0] === 0x7b) return importTfjs(file);
  if (head.length >= 8 && head.subarray(4, 8).toString('latin1') === 'TFL3') {
    throw new ModelError(`${file}: TFLite import is not available in this build yet`);
  }
  if (file.endsWith('.onnx')) return importOnnx(file);
  throw new ModelError(`${file}: unrecognised model format (expected .onnx or a TF.js model.json)`);
}
