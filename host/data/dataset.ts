// Representative and evaluation data: Fashion-MNIST by name, IDX files, .npy arrays, JSON or random:LO:HI, as float
// samples of a model input's size. Pixel data (uint8 IDX/.npy) is scaled to [0, 1] like the zoo's training.

import { ModelError } from '../ir/graph';
import { loadFashionMnist } from './fashion-mnist';
import { readIdx } from './idx';
import { parseNpy } from './npy';
import { readDataFile, requireFinite } from './read';
import { Rng } from '../util/rng';
import { numel } from '../ir/shape';

export interface Samples {
  inputs: Float32Array[];
  labels?: Uint8Array;
  source: string;
}

export interface SampleOptions {
  split?: 'train' | 'test';
  limit?: number;
  /** Elements of one model input; every sample must have exactly this many values. */
  size: number;
}

function fromFlat(data: ArrayLike<number>, count: number, size: number, scale: number, source: string): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const x = new Float32Array(size);
    for (let j = 0; j < size; j++) x[j] = data[i * size + j] * scale;
    out.push(x);
  }
  if (out.length === 0) throw new ModelError(`${source}: no samples`);
  return out;
}

export function loadSamples(spec: string, opts: SampleOptions): Samples {
  const limit = opts.limit ?? Infinity;
  if (spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:')) {
    const named = spec.split(':')[1];
    if (named !== undefined && named !== 'train' && named !== 'test')
      throw new ModelError(`${spec}: the Fashion-MNIST splits are fashion-mnist:train and fashion-mnist:test`);
    const split = (named as 'train' | 'test' | undefined) ?? opts.split ?? 'test';
    const ds = loadFashionMnist(split, Number.isFinite(limit) ? limit : undefined);
    if (opts.size !== ds.height * ds.width)
      throw new ModelError(
        `the model input has ${opts.size} values; Fashion-MNIST images have ${ds.height * ds.width}`,
      );
    const count = Math.min(ds.count, limit);
    return {
      inputs: fromFlat(ds.images, count, opts.size, 1 / 255, spec),
      labels: ds.labels.subarray(0, count),
      source: `Fashion-MNIST ${split}`,
    };
  }
  const random = /^random:(-?[\d.]+(?:e-?\d+)?):(-?[\d.]+(?:e-?\d+)?)$/.exec(spec);
  if (random) {
    // For models without a data set at hand (e.g. a float .tflite): uniform inputs over the given real range.
    const [lo, hi] = [Number(random[1]), Number(random[2])];
    if (!(lo < hi)) throw new ModelError(`${spec}: expected random:LO:HI with LO < HI`);
    const rng = new Rng(1);
    const count = Number.isFinite(limit) ? limit : 1000;
    return {
      inputs: Array.from({ length: count }, () => Float32Array.from({ length: opts.size }, () => rng.uniform(lo, hi))),
      source: `uniform random in [${lo}, ${hi}]`,
    };
  }
  const bytes = readDataFile(spec, 'data file');
  if (spec.endsWith('.npy')) {
    const a = parseNpy(bytes, spec);
    const per = numel(a.shape.slice(1));
    if (per !== opts.size)
      throw new ModelError(
        `${spec}: samples have shape [${a.shape.slice(1)}] (${per} values); the model input needs ${opts.size}`,
      );
    requireFinite(a.data, spec);
    const scale = a.data instanceof Uint8Array ? 1 / 255 : 1;
    return { inputs: fromFlat(a.data, Math.min(a.shape[0], limit), per, scale, spec), source: spec };
  }
  if (spec.endsWith('.json')) {
    let rows: unknown;
    try {
      rows = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new ModelError(`${spec}: invalid JSON (${(e as Error).message})`);
    }
    const list = Array.isArray(rows) ? rows : (rows as { inputs?: unknown } | null)?.inputs;
    if (!Array.isArray(list)) throw new ModelError(`${spec}: expected an array of samples or {"inputs": [...]}`);
    const inputs = list.slice(0, Number.isFinite(limit) ? limit : undefined).map((r, i) => {
      const flat = [r].flat(Infinity as 1) as number[];
      if (flat.some((v) => typeof v === 'number' && !Number.isFinite(v)) || flat.some((v) => v === null))
        throw new ModelError(`${spec}: sample ${i} holds a value that is not a finite number`);
      if (flat.length !== opts.size || flat.some((v) => typeof v !== 'number')) {
        throw new ModelError(
          `${spec}: sample ${i} has ${flat.length} values; the model input needs ${opts.size} numbers`,
        );
      }
      return Float32Array.from(flat);
    });
    if (inputs.length === 0) throw new ModelError(`${spec}: no samples`);
    return { inputs, source: spec };
  }
  const idx = readIdx(bytes);
  const per = numel(idx.dims.slice(1));
  if (per !== opts.size)
    throw new ModelError(`${spec}: IDX samples have ${per} values; the model input needs ${opts.size}`);
  return { inputs: fromFlat(idx.data, Math.min(idx.dims[0], limit), per, 1 / 255, spec), source: spec };
}
