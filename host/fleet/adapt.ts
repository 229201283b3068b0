// Input re-normalisation from hard samples: when a fleet's inputs drift by an affine change (a camera's
// gain and offset), the low-confidence inputs the boards sent show it. Fit the scalar a, b that map the
// drifted inputs' pixel range back onto the training data's, x = a·x' + b, and fold it into the first
// dense layer of a TF.js layers model (W' = a·W, bias' = bias + b·ΣW), so the re-converted model takes
// the drifted inputs as they come.

import * as fs from 'fs';
import * as path from 'path';
import { loadFashionMnist } from '../data/fashion-mnist';
import { parseNpy } from '../data/npy';
import { ModelError } from '../ir/graph';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

function quantiles(values: ArrayLike<number>, qs: number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  return qs.map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

/**
 * a, b mapping the drifted pixels' 1st and 99.5th percentiles onto the reference's. Percentiles, not mean
 * and spread: the hard samples are a biased subset (the inputs the model was unsure about), but nearly every
 * image has some background and some full-strength pixels, so the extremes of the pixel distribution keep
 * the drift's gain and offset.
 */
export function fitAffine(reference: ArrayLike<number>, drifted: ArrayLike<number>): { a: number; b: number } {
  const qs = [0.01, 0.995];
  const [r0, r1] = quantiles(reference, qs);
  const [d0, d1] = quantiles(drifted, qs);
  if (!(d1 > d0)) throw new ModelError('the hard samples have no spread to fit');
  const a = (r1 - r0) / (d1 - d0);
  return { a, b: r0 - a * d0 };
}

/** Writes the model with the affine folded into its first dense layer to outDir (model.json + weights.bin). */
export function foldInputAffine(modelJson: string, outDir: string, a: number, b: number): string {
  const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const manifest = model.weightsManifest as { paths: string[]; weights: WeightSpec[] }[];
  if (manifest.length !== 1) throw new ModelError(`${modelJson}: expected one weights file`);
  const specs = manifest[0].weights;
  const bin = fs.readFileSync(path.join(path.dirname(modelJson), manifest[0].paths[0]));
  const weights = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
  const offsets: number[] = [];
  let at = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new ModelError(`${s.name}: ${s.dtype} weights are not handled`);
    offsets.push(at);
    at += s.shape.reduce((x, y) => x * y, 1);
  }
  const k = specs.findIndex((s) => s.name.endsWith('/kernel') && s.shape.length === 2);
  const bi = specs.findIndex((s) => s.name === specs[k]?.name.replace(/kernel$/, 'bias'));
  if (k !== 0 || bi < 0)
    throw new ModelError(`${modelJson}: the first weights must be a dense layer's kernel and bias`);
  const [inputs, units] = specs[k].shape;
  for (let j = 0; j < units; j++) {
    let sum = 0;
    for (let i = 0; i < inputs; i++) {
      const w = weights[offsets[k] + i * units + j];
      sum += w;
      weights[offsets[k] + i * units + j] = a * w;
    }
    weights[offsets[bi] + j] += b * sum;
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, manifest[0].paths[0]), Buffer.from(weights.buffer));
  const out = path.join(outDir, 'model.json');
  fs.writeFileSync(out, JSON.stringify(model));
  return out;
}

/**
 * The input map the fleet's hard samples (samples.npy from `morsel fleet samples`) show against Fashion-MNIST's
 * training pixels, folded into modelJson's first dense layer in outDir (the model to re-convert with them).
 */
export function adaptToSamples(samplesNpy: string, modelJson: string, outDir: string) {
  const x = parseNpy(new Uint8Array(fs.readFileSync(samplesNpy)));
  const reference = loadFashionMnist('train', 2000);
  const { a, b } = fitAffine(
    Float32Array.from(reference.images, (v) => v / 255),
    x.data,
  );
  return { a, b, modelJson: foldInputAffine(modelJson, outDir, a, b) };
}
