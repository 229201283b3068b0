// `npm run bench`: compiler speed on the zoo CNN. Converting + calibrating with 1,000 images is timed against
// a reference measured in the same run: one float inference pass over the same 1,000 images (the floor any
// calibrator has to pay), so the ratio says how much the compiler adds on top of it.

import * as path from 'path';
import { compileFile } from '../host/compile';
import { loadSamples } from '../host/data/dataset';
import { importModel } from '../host/import';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { totalMacs } from '../host/ir/macs';
import { quantizeInput } from '../host/quantize/quantize';

const model = path.join(__dirname, '..', '..', 'models', 'fashion_cnn', 'model.json');
const N = 1000;
const time = (f: () => void) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

const g = importModel(model);
const samples = loadSamples('fashion-mnist:train', { limit: N, size: 784 }).inputs;
const floatPass = time(() => samples.forEach((x) => runFloat(g, { [g.inputs[0]]: x })));
let compiled!: ReturnType<typeof compileFile>;
const convert = time(
  () => (compiled = compileFile(model, { calib: 'fashion-mnist:train', calibCount: N, quiet: true })),
);
const inputs = samples.map((x) => quantizeInput(compiled.model, x));
const int8Pass = time(() => inputs.forEach((x) => runInt8(compiled.model, [x])));
const macs = totalMacs(compiled.model);
const rows = [
  {
    what: 'convert + calibrate fashion_cnn (1,000 images)',
    seconds: convert,
    target: '< 10 s',
    ratio_vs_float_pass: convert / floatPass,
  },
  { what: 'reference: float pass over the same 1,000 images', seconds: floatPass, target: '', ratio_vs_float_pass: 1 },
  {
    what: `host int8 reference, 1,000 inferences (${((macs * N) / int8Pass / 1e6).toFixed(1)} M MAC/s)`,
    seconds: int8Pass,
    target: '',
    ratio_vs_float_pass: int8Pass / floatPass,
  },
];
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else
  for (const r of rows)
    console.log(
      `${r.what.padEnd(64)} ${r.seconds.toFixed(2).padStart(7)} s  ×${r.ratio_vs_float_pass.toFixed(2)} ${r.target}`,
    );
