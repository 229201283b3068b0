import * as fs from 'fs';
import { type Graph, ModelError } from '../ir/graph';
import { importOnnx } from './onnx';
import { importTfjs } from './tfjs';
import { importTfliteGraph, isTfliteBytes } from './tflite';

/** Imports a model file, choosing the importer by content. */
export function importModel(file: string): Graph {
  if (!fs.existsSync(file)) throw new ModelError(`model file not found: ${file}`);
  const head = fs.readFileSync(file).subarray(0, 64);
  if (file.endsWith('.json') || head[0] === 0x7b) return importTfjs(file);
  if (file.endsWith('.tflite') || isTfliteBytes(head)) return importTfliteGraph(file);
  if (file.endsWith('.onnx')) return importOnnx(file);
  throw new ModelError(`${file}: unrecognised model format (expected .onnx, .tflite or a TF.js model.json)`);
}
