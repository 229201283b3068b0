// TFLite files into Morsel: an int8 model becomes a QModel directly (its exact quantization, no calibration:
// ./compile.ts); a float model becomes a float Graph for Morsel's own calibration and quantizer.

import * as fs from 'fs';
import * as path from 'path';
import { type Graph, ModelError } from '../../ir/graph';
import { readTflite, type TfliteModel } from './reader';
import { TFLITE_IDENTIFIER } from './schema';
import { tfliteToGraph } from './to-graph';
import { isInt8Model } from './to-qmodel';

/** True when the bytes carry TFLite's FlatBuffer file identifier. */
export const isTfliteBytes = (head: Uint8Array): boolean =>
  head.length >= 8 && Buffer.from(head.subarray(4, 8)).toString('latin1') === TFLITE_IDENTIFIER;

export function isTfliteFile(file: string): boolean {
  if (file.endsWith('.tflite')) return true;
  if (!fs.existsSync(file)) return false;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    return isTfliteBytes(head.subarray(0, fs.readSync(fd, head, 0, 8, 0)));
  } finally {
    fs.closeSync(fd);
  }
}

/** A model's name from its file (TFLite's subgraph name is usually just "main"). */
export const tfliteModelName = (file: string): string => path.basename(file).replace(/\.tflite$/, '');

export function readTfliteFile(file: string): TfliteModel {
  if (!fs.existsSync(file)) throw new ModelError(`model file not found: ${file}`);
  return readTflite(new Uint8Array(fs.readFileSync(file)), file);
}

/** A float .tflite as a Graph; an int8 one is refused here because it must not be re-quantized. */
export function importTfliteGraph(file: string): Graph {
  const m = readTfliteFile(file);
  if (isInt8Model(m)) {
    throw new ModelError(
      `${file} is an int8 TFLite model: it keeps its own quantization (morsel convert ${file} -o model.msl, no --calib)`,
    );
  }
  return tfliteToGraph(m, tfliteModelName(file));
}
