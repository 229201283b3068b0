// Compresses the zoo models with `morsel compress` and writes models/fashion_mlp_compressed/ and
// models/fashion_cnn_compressed/ (each: model.json + weights.bin, compression.json, report.html, COMMAND.txt;
// further experiments in subdirectories). Heavy: run it in the background.
//
//   npx tsx tools/compress-zoo.ts [experiment ...]      (default: all; names below)

import * as path from 'path';
import { parseArgs } from 'util';
import { compressCommand } from '../host/cli/compress-commands';

const ROOT = path.join(__dirname, '..');
const MLP = 'models/fashion_mlp/model.json';
const CNN = 'models/fashion_cnn/model.json';
const MLP_OUT = 'models/fashion_mlp_compressed';
const CNN_OUT = 'models/fashion_cnn_compressed';

/** Experiment name → `morsel compress` arguments (paths relative to the repository root). */
const EXPERIMENTS: Record<string, string[]> = {
  // 80% unstructured sparsity (global magnitude, gradual) + int8.
  'mlp-prune': [MLP, '-o', MLP_OUT, '--prune', '0.8', '--bits', '8', '--epochs', '4'],
  // Structured pruning: half of the convolution channels by L1 norm, fine-tuned by distillation from the original.
  'cnn-structured': [CNN, '-o', CNN_OUT, '--structured', 'conv1=0.5,pwconv3=0.5', '--criterion', 'l1', '--kd', '--bits', '8', '--epochs', '4', '--lr', '0.002'],
  // Distillation into a quarter-width student (¼ of the MACs), compared with the same student without the teacher.
  'mlp-distill': [MLP, '-o', `${MLP_OUT}/distill`, '--distill', '0.25', '--alpha', '0.7', '--temperature', '4', '--distill-epochs', '10', '--lr', '0.002', '--bits', '8'],
  // Low-rank factorization of the first layer at 90% retained energy; projections during fine-tuning stop at
  // rank 54, where fc1 (with its bias) has under half its parameters: 54·(784 + 128) + 128 < (784·128 + 128) / 2.
  'mlp-low-rank': [MLP, '-o', `${MLP_OUT}/low-rank`, '--low-rank', '0.9', '--rank', '54', '--low-rank-layers', 'fc1', '--epochs', '3', '--bits', '8'],
  // Sparsity + mixed int8/int4/int2 weights under a size budget, with quantization-aware fine-tuning.
  'mlp-mixed': [MLP, '-o', `${MLP_OUT}/mixed`, '--prune', '0.8', '--bits', 'mixed', '--budget', '24000', '--qat', '--epochs', '3'],
  // Structure search over width, depth, sparsity and bits.
  'mlp-search': [MLP, '-o', `${MLP_OUT}/search`, '--search', '--widths', '0.25,0.5,1', '--depths', '1,2', '--sparsities', '0,0.8', '--search-bits', '8,4', '--distill-epochs', '3', '--lr', '0.002', '--epochs', '1'],
};

async function main(): Promise<void> {
  process.chdir(ROOT);
  const names = process.argv.slice(2);
  for (const n of names) if (!EXPERIMENTS[n]) throw new Error(`unknown experiment '${n}' (${Object.keys(EXPERIMENTS).join(', ')})`);
  for (const name of names.length ? names : Object.keys(EXPERIMENTS)) {
    console.error(`\n=== ${name}: morsel compress ${EXPERIMENTS[name].join(' ')}`);
    const parsed = parseArgs({ args: EXPERIMENTS[name], options: compressCommand.options, allowPositionals: true, strict: true });
    const code = await compressCommand.run(parsed as Parameters<typeof compressCommand.run>[0]);
    if (code !== 0) throw new Error(`${name} failed with exit code ${code}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
