// A SeqModel through the real compiler (TF.js importer → passes → calibrate → int8 quantizer → planner →
// blob encoder), for exact int8 blob sizes, arenas and the int8 reference interpreter's accuracy.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Compiled, compileGraph } from '../compile';
import { importTfjs } from '../import/tfjs';
import { runInt8 } from '../interp/int8/interpreter';
import { quantizeInput } from '../quantize/quantize';
import { Progress } from '../util/progress';
import { LabelledImages } from './batches';
import { argmaxRows } from './evaluate';
import { saveLayersModel } from './layers-io';
import { SeqModel } from './seq-model';

export interface CompileSeqOptions {
  /** Calibration data spec for loadSamples (default fashion-mnist:train). */
  calib?: string;
  calibCount?: number;
}

export function compileSeqModel(m: SeqModel, opts: CompileSeqOptions = {}): Compiled {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-compress-'));
  try {
    const source = importTfjs(saveLayersModel(m, path.join(dir, m.name)));
    return compileGraph(source, { calib: opts.calib ?? 'fashion-mnist:train', calibCount: opts.calibCount ?? 1000, quiet: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Predicted classes of the int8 reference interpreter on `data`. */
export function predictInt8(compiled: Compiled, data: LabelledImages, quiet = false): Int32Array {
  const size = data.images.length / data.count;
  const out = new Int32Array(data.count);
  const bar = quiet ? undefined : new Progress('int8 reference', data.count);
  const x = new Float32Array(size);
  for (let i = 0; i < data.count; i++) {
    for (let j = 0; j < size; j++) x[j] = data.images[i * size + j] / 255;
    const y = runInt8(compiled.model, [quantizeInput(compiled.model, x)])[0];
    out[i] = argmaxRows(Float32Array.from(y), y.length)[0];
    bar?.tick();
  }
  bar?.done();
  return out;
}
