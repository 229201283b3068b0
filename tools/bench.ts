// `npm run bench [-- --json] [--calib-samples N]`: compiler speed.
// - The zoo CNN: converting + calibrating with 1,000 images, timed against a reference measured in the same run: one
//   float inference pass over the same 1,000 images (the floor any calibrator has to pay).
// - MobileNetV2 (224×224, ~300 M MAC, random weights from tools/make-mobilenetv2.ts, written once to the temp
//   directory): the float interpreter's MAC/s on one core, against a plain dot-product loop over the same number of
//   MACs, and calibration images/s on every core (N random images, default 40; 1,000 take N/1,000 of the time).
// The machine is shared: each row also gives MAC/s per CPU second of this process, and the load average is printed.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compileFile } from '../host/compile';
import { loadSamples } from '../host/data/dataset';
import { importModel } from '../host/import';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, numel, tensor } from '../host/ir/graph';
import { totalMacs } from '../host/ir/macs';
import { toDeviceGraph } from '../host/passes';
import { calibrate } from '../host/quantize/calibrate';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { writeMobileNetV2 } from './make-mobilenetv2';

interface Row {
  what: string;
  seconds: number;
  /** CPU seconds of this process (all its threads) over the same time. */
  cpuSeconds: number;
  ratio: number;
  target: string;
}

function time(f: () => void): { seconds: number; cpuSeconds: number } {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, cpuSeconds: (u.user + u.system) / 1e6 };
}

/** Multiply-accumulates of the float graph's conv, depthwise and dense layers per inference. */
function floatMacs(g: Graph): number {
  let macs = 0;
  for (const n of g.nodes) {
    const out = numel(tensor(g, n.op.outputs[0]).shape);
    const w = n.op.inputs[1] ? tensor(g, n.op.inputs[1]).shape : [];
    if (n.op.kind === 'conv2d') macs += out * w[1] * w[2] * w[3];
    else if (n.op.kind === 'depthwise_conv2d') macs += out * w[1] * w[2];
    else if (n.op.kind === 'dense') macs += out * w[1];
  }
  return macs;
}

/** The reference loop: one double accumulator per output over two Float32Array rows, as the plain interpreter ran. */
function plainLoop(macs: number): void {
  const K = 256;
  const x = new Float32Array(K).fill(0.5);
  const w = new Float32Array(64 * K).fill(0.25);
  const y = new Float32Array(64);
  for (let done = 0; done < macs; done += 64 * K)
    for (let o = 0; o < 64; o++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[k] * w[o * K + k];
      y[o] = acc;
    }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const calibSamples = Number(args[args.indexOf('--calib-samples') + 1]) || 40;
  const rows: Row[] = [];
  const row = (what: string, t: { seconds: number; cpuSeconds: number }, ref: number, target = '') =>
    rows.push({ what, ...t, ratio: t.seconds / ref, target });

  const cnn = path.join(__dirname, '..', '..', 'models', 'fashion_cnn', 'model.json');
  const N = 1000;
  const g = importModel(cnn);
  const images = loadSamples('fashion-mnist:train', { limit: N, size: 784 }).inputs;
  const floatPass = time(() => images.forEach((x) => runFloat(g, { [g.inputs[0]]: x })));
  let compiled!: ReturnType<typeof compileFile>;
  const convert = time(
    () => (compiled = compileFile(cnn, { calib: 'fashion-mnist:train', calibCount: N, quiet: true })),
  );
  const inputs = images.map((x) => quantizeInput(compiled.model, x));
  const int8Pass = time(() => inputs.forEach((x) => runInt8(compiled.model, [x])));
  const macs = totalMacs(compiled.model);
  row('convert + calibrate fashion_cnn (1,000 images)', convert, floatPass.seconds, '< 10 s');
  row('reference: float pass over the same 1,000 images', floatPass, floatPass.seconds);
  row(
    `host int8 reference, 1,000 inferences (${((macs * N) / int8Pass.seconds / 1e6).toFixed(1)} M MAC/s)`,
    int8Pass,
    floatPass.seconds,
  );

  const dir = path.join(os.tmpdir(), 'morsel-bench-mobilenetv2');
  const json = fs.existsSync(path.join(dir, 'model.json')) ? path.join(dir, 'model.json') : await writeMobileNetV2(dir);
  const mnv2 = toDeviceGraph(importModel(json));
  const mnv2Macs = floatMacs(mnv2);
  const rng = new Rng(1);
  const size = numel(tensor(mnv2, mnv2.inputs[0]).shape);
  const random = () => Float32Array.from({ length: size }, () => rng.next());
  const x = random();
  for (let i = 0; i < 2; i++) runFloat(mnv2, { [mnv2.inputs[0]]: x }); // warm-up: the kernels get compiled
  const passes = 5;
  const float = time(() => {
    for (let i = 0; i < passes; i++) runFloat(mnv2, { [mnv2.inputs[0]]: x });
  });
  const plain = time(() => plainLoop(mnv2Macs * passes));
  const gmacs = (t: { seconds: number; cpuSeconds: number }) =>
    `${((mnv2Macs * passes) / t.seconds / 1e9).toFixed(2)} G MAC/s, ${((mnv2Macs * passes) / t.cpuSeconds / 1e9).toFixed(2)} per CPU s`;
  const label = `MobileNetV2 (${(mnv2Macs / 1e6).toFixed(0)} M MAC)`;
  row(`${label} float interpreter, ${passes} passes, 1 core (${gmacs(float)})`, float, plain.seconds, '≥ 1 G MAC/s');
  row(`reference: plain float loop, same MACs (${gmacs(plain)})`, plain, plain.seconds);
  const samples = Array.from({ length: calibSamples }, random);
  const calib = time(() => calibrate(mnv2, samples));
  const perSecond = calibSamples / calib.seconds;
  row(
    `${label} calibration, ${calibSamples} images, ${os.availableParallelism()} threads (${perSecond.toFixed(2)} img/s; 1,000 in ${(1000 / perSecond / 60).toFixed(1)} min)`,
    calib,
    plain.seconds,
    '≥ 3 img/s',
  );

  if (args.includes('--json')) console.log(JSON.stringify({ loadAverage: os.loadavg(), rows }, null, 2));
  else {
    for (const r of rows)
      console.log(
        `${r.what.padEnd(100)} ${r.seconds.toFixed(2).padStart(7)} s (CPU ${r.cpuSeconds.toFixed(2).padStart(6)} s) ×${r.ratio.toFixed(2)} ${r.target}`,
      );
    console.log(
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.availableParallelism()} cores`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
