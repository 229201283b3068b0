import { readBlobFile } from '../blob/verify';
import { compileGraph, inputSize } from '../compile';
import { loadSamples } from '../data/dataset';
import { FASHION_MNIST_CLASSES } from '../data/fashion-mnist';
import { importModel } from '../import';
import { toStoredLayout } from '../import/boundary';
import { runFloat } from '../interp/float';
import { runInt8 } from '../interp/int8/interpreter';
import { type Graph, ModelError, numel, tensor } from '../ir/graph';
import { toDeviceGraph } from '../passes';
import type { QModel } from '../ir/qmodel';
import { quantizeInput } from '../quantize/quantize';
import { Progress } from '../util/progress';
import { parseCount } from './convert';
import type { Command } from './main';
import { UsageError } from './main';

export interface EvalReport {
  samples: number;
  float_top1: number;
  int8_top1: number;
  /** Fraction of samples where float and int8 pick the same class. */
  agreement: number;
  per_class: { label: number; name: string; count: number; float_top1: number; int8_top1: number }[];
  data: string;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Top-1 of the float source graph and of the int8 model on labelled samples. */
export function evaluate(source: Graph, model: QModel, data: string, limit?: number, quiet = false): EvalReport {
  const samples = loadSamples(data, { split: 'test', limit, size: inputSize(source) });
  const labels = samples.labels;
  if (!labels) throw new ModelError(`${data}: evaluation needs labelled data (e.g. --data fashion-mnist)`);
  const classes = Math.max(...labels) + 1;
  const count = new Array<number>(classes).fill(0);
  const okFloat = new Array<number>(classes).fill(0);
  const okInt8 = new Array<number>(classes).fill(0);
  let agree = 0;
  const bar = quiet ? undefined : new Progress('evaluating', samples.inputs.length);
  samples.inputs.forEach((sample, i) => {
    // Evaluation data comes in the source model's layout (NCHW / NCL for ONNX); the graph and the blob store NHWC.
    const x = toStoredLayout(source, source.inputs[0], sample);
    const f = argmax(Object.values(runFloat(source, { [source.inputs[0]]: x }))[0]);
    const q = argmax(runInt8(model, [quantizeInput(model, x)])[0]);
    const label = labels[i];
    count[label]++;
    if (f === label) okFloat[label]++;
    if (q === label) okInt8[label]++;
    if (f === q) agree++;
    bar?.tick();
  });
  bar?.done();
  const n = samples.inputs.length;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    samples: n,
    float_top1: sum(okFloat) / n,
    int8_top1: sum(okInt8) / n,
    agreement: agree / n,
    per_class: count.map((c, label) => ({
      label,
      name: classes === FASHION_MNIST_CLASSES.length ? FASHION_MNIST_CLASSES[label] : String(label),
      count: c,
      float_top1: c ? okFloat[label] / c : 0,
      int8_top1: c ? okInt8[label] / c : 0,
    })),
    data: samples.source,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function formatEval(r: EvalReport): string {
  return [
    `${r.samples} samples of ${r.data}`,
    `top-1  float ${pct(r.float_top1)}  int8 ${pct(r.int8_top1)}  (Δ ${(100 * (r.int8_top1 - r.float_top1)).toFixed(2)} pt, agreement ${pct(r.agreement)})`,
    '',
    'class         count   float    int8',
    ...r.per_class.map(
      (c) =>
        `${c.name.padEnd(12)} ${String(c.count).padStart(6)}  ${pct(c.float_top1).padStart(7)} ${pct(c.int8_top1).padStart(7)}`,
    ),
  ].join('\n');
}

/**
 * Refuses a blob that was not compiled from `source`: its weighted layers (dense, conv, depthwise) must hold as many
 * weights, in the same order, as the source's after the compiler's passes, and its input and output as many values.
 */
export function requireBlobOf(source: Graph, model: QModel, file: string, msl: string): void {
  const device = toDeviceGraph(source);
  const weighted = new Set(['FULLY_CONNECTED', 'CONV_2D', 'DEPTHWISE_CONV_2D']);
  const blobLayers = model.ops
    .filter((op) => weighted.has(op.opcode))
    .map((op) => numel(model.tensors[op.inputs[1]].shape));
  const sourceLayers = device.nodes
    .filter((n) => n.op.kind === 'dense' || n.op.kind === 'conv2d' || n.op.kind === 'depthwise_conv2d')
    .map((n) => numel(tensor(device, n.op.inputs[1]!).shape));
  const io = (shapes: number[][]) => shapes.map(numel).join(',');
  const blobIo = io([model.tensors[model.inputs[0]].shape, model.tensors[model.outputs[0]].shape]);
  const sourceIo = io([tensor(device, device.inputs[0]).shape, tensor(device, device.outputs[0]).shape]);
  if (blobLayers.join(',') !== sourceLayers.join(',') || blobIo !== sourceIo)
    throw new ModelError(
      `${msl} was not compiled from ${file}: its layers hold [${blobLayers}] weights and its input/output ${blobIo} values, the model's [${sourceLayers}] and ${sourceIo}`,
    );
}

export const evalCommand: Command = {
  summary: 'top-1 accuracy of the float model vs its int8 quantization, per class',
  usage: 'morsel eval <model> --data <fashion-mnist|file> [--msl model.msl | --calib <data>] [--limit N] [--json]',
  options: {
    data: { type: 'string' },
    msl: { type: 'string' },
    calib: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model>\nusage: ${this.usage}`);
    const data = (values.data as string | undefined) ?? 'fashion-mnist';
    const quiet = values.quiet === true || values.json === true;
    const source = importModel(file);
    let model: QModel;
    if (values.msl) {
      model = readBlobFile(values.msl as string).model;
      requireBlobOf(source, model, file, values.msl as string);
    } else {
      const calib =
        (values.calib as string | undefined) ?? (data.startsWith('fashion-mnist') ? 'fashion-mnist:train' : undefined);
      if (!calib) throw new UsageError('give --msl <model.msl> or --calib <data> for the int8 model');
      model = compileGraph(source, { calib, quiet }).model;
    }
    const limit = values.limit === undefined ? undefined : parseCount('--limit', values.limit, 0);
    const report = evaluate(source, model, data, limit, quiet);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatEval(report));
    return 0;
  },
};
