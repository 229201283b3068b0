// Compresses the zoo models with `morsel compress` and writes models/fashion_mlp_compressed/ and
// models/fashion_cnn_compressed/ (each: model.json + weights.bin, model.msl, compression.json, report.html,
// COMMAND.txt; further experiments in subdirectories). Heavy: run it in the background.
//
//   npx tsx tools/compress-zoo.ts [experiment ...]                (default: all; names below)
//   npx tsx tools/compress-zoo.ts --remeasure [experiment ...]    (no training: the committed compressed model
//       is compiled again with its recorded weight bits, and model.msl, compression.json and report.html are
//       rewritten with today's blob encoder and measurements; the steps recorded by the original run are kept)
//   npx tsx tools/compress-zoo.ts --train-speed                    (images/s of one training epoch of the zoo CNN and
//       the compressed CNN over 10,000 images on 1 and 2 threads, as every compression step trains them)

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import '../host/cli/main'; // first: the command table it loads includes compress-commands
import { compressCommand, loadData } from '../host/cli/compress-commands';
import { head } from '../host/compress/batches';
import { type CompressData, measureBaseline, measureCompressed } from '../host/compress/compress';
import type { ModelFigures } from '../host/compress/compression-json';
import type { WeightBits } from '../host/compress/fake-quant';
import { trainNet } from '../host/compress/fine-tune';
import { loadLayersModel } from '../host/compress/layers-io';
import { TrainableNet } from '../host/compress/net';
import { loadFashionMnist } from '../host/data/fashion-mnist';
import { renderReport } from '../host/report/html';
import { writeFileAtomic } from '../host/util/fs';

const ROOT = path.join(__dirname, '..');
const MLP = 'models/fashion_mlp/model.json';
const CNN = 'models/fashion_cnn/model.json';
const MLP_OUT = 'models/fashion_mlp_compressed';
const CNN_OUT = 'models/fashion_cnn_compressed';

/** Experiment name → `morsel compress` arguments (paths relative to the repository root). */
const EXPERIMENTS: Record<string, string[]> = {
  // 80% unstructured sparsity (global magnitude, gradual) + int8.
  'mlp-prune': [MLP, '-o', MLP_OUT, '--prune', '0.8', '--bits', '8', '--epochs', '4'],
  // Structured pruning: half of every convolution's channels by L1 norm (conv1 and pwconv3, the two prunable
  // convolutions; dwconv2 loses conv1's), 12 epochs of fine-tuning (on 2 threads) by distillation from the original.
  'cnn-structured': [
    CNN,
    '-o',
    CNN_OUT,
    '--structured',
    'conv1=0.5,pwconv3=0.5',
    '--criterion',
    'l1',
    '--kd',
    '--bits',
    '8',
    '--epochs',
    '12',
    '--lr',
    '0.002',
    '--threads',
    '2',
  ],
  // Distillation into a quarter-width student (¼ of the MACs), compared with the same student without the teacher
  // over 3 seeds (per seed one shuffle order, trained with and without the teacher). Both students start from the
  // teacher's strongest quarter of the hidden units (from scratch, 10 epochs, seed 1 reached only 86.43% without
  // and 85.62% with the teacher at α 0.9, T 4).
  'mlp-distill': [
    MLP,
    '-o',
    `${MLP_OUT}/distill`,
    '--distill',
    '0.25',
    '--student-init',
    'pruned',
    '--alpha',
    '0.9',
    '--temperature',
    '2',
    '--distill-epochs',
    '8',
    '--distill-seeds',
    '3',
    '--lr',
    '0.002',
    '--bits',
    '8',
  ],
  // Low-rank factorization of the first layer at 90% retained energy; projections during fine-tuning stop at
  // rank 54, where fc1 (with its bias) has under half its parameters: 54·(784 + 128) + 128 < (784·128 + 128) / 2.
  'mlp-low-rank': [
    MLP,
    '-o',
    `${MLP_OUT}/low-rank`,
    '--low-rank',
    '0.9',
    '--rank',
    '54',
    '--low-rank-layers',
    'fc1',
    '--epochs',
    '3',
    '--bits',
    '8',
  ],
  // Sparsity + mixed int8/int4/int2 weights under a size budget, with quantization-aware fine-tuning.
  'mlp-mixed': [
    MLP,
    '-o',
    `${MLP_OUT}/mixed`,
    '--prune',
    '0.8',
    '--bits',
    'mixed',
    '--budget',
    '24000',
    '--qat',
    '--epochs',
    '3',
  ],
  // Deep Compression: 92% sparsity (global magnitude, gradual) + int4 weights with QAT, both fine-tuned by
  // distillation from the float MLP itself (the zoo CNN as teacher did worse); the whole blob is over 30× smaller
  // than the MLP's float32 weights.
  'mlp-deep': [
    MLP,
    '-o',
    `${MLP_OUT}/deep`,
    '--prune',
    '0.92',
    '--bits',
    '4',
    '--qat',
    '--kd',
    '--epochs',
    '6',
    '--lr',
    '0.001',
  ],
  // Structure search over width, depth, sparsity and bits.
  'mlp-search': [
    MLP,
    '-o',
    `${MLP_OUT}/search`,
    '--search',
    '--widths',
    '0.25,0.5,1',
    '--depths',
    '1,2',
    '--sparsities',
    '0,0.8',
    '--search-bits',
    '8,4',
    '--distill-epochs',
    '3',
    '--lr',
    '0.002',
    '--epochs',
    '1',
  ],
};

const baselines = new Map<string, ModelFigures>();

/** Re-measures an experiment's committed directory without training (see the header). */
function remeasure(name: string, data: CompressData): void {
  const args = EXPERIMENTS[name];
  const dir = args[args.indexOf('-o') + 1];
  const old = JSON.parse(fs.readFileSync(path.join(dir, 'compression.json'), 'utf8'));
  if (old.results.candidates)
    throw new Error(`${name}: search candidates cannot be re-measured without their models; run the experiment again`);
  const bits: Record<string, WeightBits> = Object.fromEntries(
    Object.entries(old.layers as Record<string, { bits: WeightBits }>).map(([n, l]) => [n, l.bits]),
  );
  if (!baselines.has(old.source)) baselines.set(old.source, measureBaseline(loadLayersModel(old.source), data));
  const prior = {
    source: old.source,
    command: old.command,
    baseline: baselines.get(old.source)!,
    steps: old.steps,
    withoutTeacher: old.results.studentWithoutTeacher,
  };
  const { blob, record } = measureCompressed(loadLayersModel(path.join(dir, 'model.json')), bits, data, prior, {});
  writeFileAtomic(path.join(dir, 'model.msl'), blob);
  writeFileAtomic(path.join(dir, 'compression.json'), JSON.stringify(record, null, 2) + '\n');
  writeFileAtomic(path.join(dir, 'report.html'), renderReport(record));
}

function trainSpeed(): void {
  const data = head(loadFashionMnist('train'), 10000);
  for (const [name, file] of [
    ['zoo CNN', CNN],
    ['compressed CNN', `${CNN_OUT}/model.json`],
  ]) {
    for (const threads of [1, 2]) {
      const net = new TrainableNet(loadLayersModel(file));
      const r = trainNet(net, data, { epochs: 1, lr: 5e-4, seed: 1, label: `${name}, ${threads} thread(s)`, threads });
      net.dispose();
      console.log(
        `${name} training, ${threads} thread(s): ${Math.round(r.imagesPerSec)} images/s (${data.count} images in ${r.seconds.toFixed(1)} s; ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)})`,
      );
    }
  }
}

async function main(): Promise<void> {
  process.chdir(ROOT);
  if (process.argv[2] === '--train-speed') {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    return trainSpeed();
  }
  const remeasuring = process.argv[2] === '--remeasure';
  const names = process.argv.slice(remeasuring ? 3 : 2);
  for (const n of names)
    if (!EXPERIMENTS[n]) throw new Error(`unknown experiment '${n}' (${Object.keys(EXPERIMENTS).join(', ')})`);
  if (remeasuring) {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    const data = { ...loadData({}), calib: 'fashion-mnist:train' };
    for (const name of names.length ? names : Object.keys(EXPERIMENTS)) {
      console.error(`\n=== ${name}: re-measuring`);
      remeasure(name, data);
    }
    return;
  }
  for (const name of names.length ? names : Object.keys(EXPERIMENTS)) {
    console.error(`\n=== ${name}: morsel compress ${EXPERIMENTS[name].join(' ')}`);
    const parsed = parseArgs({
      args: EXPERIMENTS[name],
      options: compressCommand.options,
      allowPositionals: true,
      strict: true,
    });
    const code = await compressCommand.run(parsed as Parameters<typeof compressCommand.run>[0]);
    if (code !== 0) throw new Error(`${name} failed with exit code ${code}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
