// Layer-by-layer executions for `morsel diff` (kept apart from the command so tests and tools import it without
// the CLI): the host int8 reference, or a device engine, whose layer k is the output of the model cut after op k
// (engines return only a model's output; one engine run per layer).

import * as fs from 'fs';
import { readBlobFile } from '../blob/verify';
import { encodeModel } from '../blob/encode';
import { type Engine, runOnEngine } from '../engines';
import { isTfliteFile, readTfliteFile, tfliteModelName } from '../import/tflite';
import { tfliteToQModel } from '../import/tflite/to-qmodel';
import { runInt8 } from '../interp/int8/interpreter';
import { ModelError } from '../ir/graph';
import type { QModel } from '../ir/qmodel';
import { planMemory } from '../plan/planner';
import type { RoundingMode } from '../quantize/fixedpoint';
import type { Rng } from '../util/rng';
import { numel } from '../ir/shape';

/** A .msl blob, or an int8 .tflite imported (and planned) in the given rounding mode (TFLM's by default). */
export function loadQModel(file: string, rounding?: RoundingMode): QModel {
  if (isTfliteFile(file)) {
    const model = tfliteToQModel(readTfliteFile(file), { rounding, name: tfliteModelName(file) });
    planMemory(model);
    return model;
  }
  if (!fs.existsSync(file)) throw new ModelError(`model file not found: ${file}`);
  const { model } = readBlobFile(file);
  if (rounding && rounding !== model.rounding) {
    throw new ModelError(
      `${file} was built for ${model.rounding} rounding; another mode needs the source .tflite (its multipliers are derived from the scales)`,
    );
  }
  return model;
}

/** The model cut after op `last`: its ops 0..last and the tensors they use, with `last`'s output as the output. */
export function prefixModel(model: QModel, last: number): QModel {
  const ops = model.ops.slice(0, last + 1);
  const used = [...new Set([...model.inputs, ...ops.flatMap((op) => [...op.inputs, ...op.outputs])])].sort(
    (a, b) => a - b,
  );
  const remap = new Map(used.map((t, i) => [t, i]));
  const cut: QModel = {
    ...model,
    tensors: used.map((t) => ({ ...model.tensors[t] })),
    ops: ops.map(
      (op) =>
        ({
          ...op,
          inputs: op.inputs.map((t) => remap.get(t)!),
          outputs: op.outputs.map((t) => remap.get(t)!),
        }) as typeof op,
    ),
    inputs: model.inputs.map((t) => remap.get(t)!),
    outputs: [remap.get(ops[last].outputs[0])!],
  };
  planMemory(cut);
  return cut;
}

/** Every op's output for one input, in op order; `undefined` where an execution has no record of a layer. */
export type LayerOutputs = (Int8Array | undefined)[];

export function hostLayers(model: QModel, input: Int8Array): Int8Array[] {
  const out: Int8Array[] = [];
  runInt8(model, [input], (_t, data) => out.push(data));
  return out;
}

export async function engineLayers(engine: Engine, model: QModel, input: Int8Array): Promise<Int8Array[]> {
  const out: Int8Array[] = [];
  for (let k = 0; k < model.ops.length; k++)
    out.push((await runOnEngine(engine, encodeModel(prefixModel(model, k)), [input])).outputs[0]);
  return out;
}

export interface LayerDiff {
  index: number;
  op: string;
  name: string;
  elements: number;
  differing: number | null;
  maxAbs: number | null;
}

export function compareLayers(
  model: QModel,
  a: LayerOutputs,
  b: LayerOutputs,
): { layers: LayerDiff[]; firstDifferent: number } {
  const layers = model.ops.map((op, index): LayerDiff => {
    const [x, y] = [a[index], b[index]];
    const base = {
      index,
      op: op.opcode as string,
      name: op.name,
      elements: numel(model.tensors[op.outputs[0]].shape),
    };
    if (!x || !y) return { ...base, differing: null, maxAbs: null };
    if (x.length !== y.length) throw new ModelError(`layer ${index} (${op.name}): ${x.length} vs ${y.length} values`);
    let differing = 0;
    let maxAbs = 0;
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        differing++;
        maxAbs = Math.max(maxAbs, Math.abs(x[i] - y[i]));
      }
    }
    return { ...base, differing, maxAbs };
  });
  return { layers, firstDifferent: layers.findIndex((l) => l.differing !== null && l.differing > 0) };
}

/** Uniform random int8 values for the model's first input. */
export function randomInt8Input(model: QModel, rng: Rng): Int8Array {
  return Int8Array.from({ length: numel(model.tensors[model.inputs[0]].shape) }, () => rng.int(-128, 127));
}
