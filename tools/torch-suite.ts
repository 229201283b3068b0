// `npm run suite:torch`: the torch suite's models (tools/torch-suite.py) converted with their own calibration
// (torch's input and 31 samples of the suite's distribution, as test/torch-suite.test.ts converts them), then the
// share of 500 further samples on which the int8 reference's top-1 equals the float graph's, how many classes float's
// top-1 spans, and the int8 output's RMS error relative to the float output's RMS and to its spread over the samples
// (its standard deviation from sample to sample: what the input changes). With random weights a deep network's class
// scores are mostly constant, so its top-1 is one class for most inputs; the second ratio shows whether int8 keeps
// what the input changes. A few minutes on one core: too slow for the test suite.
//
//   node dist/tools/torch-suite.js [--samples 500] [--json]

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { argmax } from '../host/cli/eval';
import { compileGraph } from '../host/compile';
import { importModel } from '../host/import';
import { toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { dequantizeOutput, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { suiteSample, torchModels } from './torch-suite-fixtures';

const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--samples') + 1] || 500);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-suite-'));
const rows: {
  model: string;
  agreement: number;
  classes: number;
  noise: number;
  noiseOverSpread: number;
  blob: number;
}[] = [];
try {
  for (const c of torchModels()) {
    const rng = new Rng(16);
    const calib = path.join(tmp, 'calib.json');
    const samples = [c.input.data, ...Array.from({ length: 31 }, () => suiteSample(c.input.shape, rng))];
    fs.writeFileSync(calib, JSON.stringify(samples.map((x) => Array.from(x))));
    const { source, model, blob } = compileGraph(importModel(c.onnx), { calib, quiet: true });
    let agree = 0;
    let noise = 0;
    let signal = 0;
    const sum = new Float64Array(c.output.data.length);
    const sumSq = new Float64Array(c.output.data.length);
    const classes = new Set<number>();
    const test = new Rng(500);
    for (let k = 0; k < count; k++) {
      const x = toStoredLayout(source, source.inputs[0], suiteSample(c.input.shape, test));
      const yf = Object.values(runFloat(source, { [source.inputs[0]]: x }))[0];
      const yq = dequantizeOutput(model, runInt8(model, [quantizeInput(model, x)])[0]);
      if (argmax(yf) === argmax(yq)) agree++;
      classes.add(argmax(yf));
      yf.forEach((v, i) => {
        noise += (yq[i] - v) ** 2;
        signal += v * v;
        sum[i] += v;
        sumSq[i] += v * v;
      });
    }
    let spread = 0;
    sum.forEach((s, i) => {
      spread += sumSq[i] - (s * s) / count;
    });
    const row = {
      model: c.name,
      agreement: agree / count,
      classes: classes.size,
      noise: Math.sqrt(noise / signal),
      noiseOverSpread: Math.sqrt(noise / spread),
      blob: blob.length,
    };
    rows.push(row);
    if (!args.includes('--json'))
      console.log(
        `${c.name.padEnd(20)} top-1 agreement ${(100 * row.agreement).toFixed(1)}% of ${count} ` +
          `(${row.classes} float classes), int8 RMS error ${(100 * row.noise).toFixed(1)}% of float's RMS, ` +
          `${(100 * row.noiseOverSpread).toFixed(1)}% of its spread over inputs, blob ${row.blob} B`,
      );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (args.includes('--json')) console.log(JSON.stringify(rows, null, 1));
