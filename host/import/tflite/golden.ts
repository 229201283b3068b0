// Golden vectors recorded from real TensorFlow Lite Micro (the format of ../shared/fixtures/mlperf-tiny/golden/):
// int8 inputs and outputs for a set of cases, every operator's output for one case, and TFLM's arena size.

import * as fs from 'fs';
import { ModelError } from '../../ir/graph';

export interface GoldenCase {
  seed: number;
  input: Int8Array;
  output: Int8Array;
}
export interface GoldenLayer {
  opIndex: number;
  name: string;
  shape: number[];
  data: Int8Array;
}

export interface Golden {
  cases: GoldenCase[];
  /** Every operator's output, in execution order, for the case with seed `layersSeed`. */
  layers: GoldenLayer[];
  layersSeed: number;
  /** TFLM's arena_used_bytes() for the model (64-bit host build). */
  tflmArenaBytes: number;
}

const int8 = (b64: string) => new Int8Array(Buffer.from(b64, 'base64'));

export function readGolden(file: string): Golden {
  if (!fs.existsSync(file)) throw new ModelError(`golden file not found: ${file}`);
  let j: any;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(j?.cases) || !Array.isArray(j?.layers?.tensors))
    throw new ModelError(`${file}: not a golden file (expected "cases" and "layers.tensors")`);
  return {
    cases: j.cases.map((c: { seed: number; input_b64: string; output: number[] }) => ({
      seed: c.seed,
      input: int8(c.input_b64),
      output: Int8Array.from(c.output),
    })),
    layers: j.layers.tensors.map((t: { op_index: number; name: string; shape: number[]; data_b64: string }) => ({
      opIndex: t.op_index,
      name: t.name,
      shape: t.shape,
      data: int8(t.data_b64),
    })),
    layersSeed: j.layers.seed,
    tflmArenaBytes: j.tflm_arena_used_bytes_x86_64,
  };
}

/** The input of the case whose layers were recorded. */
export function goldenLayersInput(g: Golden): Int8Array {
  const c = g.cases.find((k) => k.seed === g.layersSeed);
  if (!c) throw new ModelError(`golden file: no case has the layers' seed ${g.layersSeed}`);
  return c.input;
}
