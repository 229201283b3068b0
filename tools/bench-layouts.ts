// `node dist/tools/bench-layouts.js [model.msl …] [--engine E]… [--instructions]`: the weight layouts --optimize
// chooses, measured. Each model is re-encoded for size, speed and balanced; per engine (default Lua 5.3 and Duktape)
// the table gives bytes and ms per inference, with balanced against speed (target ≤ 1.05) and against size in bytes
// (≤ 1.03). `--instructions`: also callgrind's instructions per inference on Duktape, Lua 5.3 and Lua 5.1
// (bench:instructions' counter; deterministic where a shared machine's milliseconds are not, but blind to caches).
// Default models: MLPerf's int8 KWS with its 1×1 convs pruned to 97–99% zeros (MobileNet-like, test/helpers/
// sparse-models.ts) and the compressed zoo MLP (80% of its weights pruned).

import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { OPTIMIZE_GOALS, storedWeightsOf } from '../host/blob/weights';
import { type Engine, ENGINES } from '../host/engines';
import { totalMacs } from '../host/ir/macs';
import type { QModel } from '../host/ir/qmodel';
import { sparseKws } from '../test/helpers/sparse-models';
import { INSTRUCTION_ENGINES, instructionsPerInference } from './bench-instructions';
import { timeBlobs } from './measure-layout-costs';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engines = args.flatMap((a, i) => (args[i - 1] === '--engine' ? [a as Engine] : []));
  const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--engine');
  const models: [string, QModel][] = (
    files.length ? files : [path.join(__dirname, '..', '..', 'models', 'fashion_mlp_compressed', 'model.msl')]
  ).map((f) => [path.relative(process.cwd(), f), decodeModel(new Uint8Array(fs.readFileSync(f)))]);
  if (!files.length) models.unshift(['KWS, 1×1 convs 97–99% zeros', sparseKws()]);
  for (const [name, model] of models) {
    const inputSize = model.tensors[model.inputs[0]].shape.reduce((a, b) => a * b, 1);
    const blobs = OPTIMIZE_GOALS.map((optimize) => encodeModel(model, { optimize }));
    const layouts = OPTIMIZE_GOALS.map((optimize) =>
      [...storedWeightsOf(model, undefined, optimize).values()].map((s) => s.layout).join(','),
    );
    const [size, , balanced] = blobs.map((b) => b.length);
    console.log(name);
    OPTIMIZE_GOALS.forEach((g, i) =>
      console.log(`  ${g.padEnd(9)} ${String(blobs[i].length).padStart(8)} B  ${layouts[i]}`),
    );
    console.log(`  balanced / size bytes ×${(balanced / size).toFixed(3)} (target ≤ 1.03)`);
    for (const engine of engines.length ? engines : (['lua', 'duktape'] as Engine[])) {
      if (!ENGINES.includes(engine)) throw new Error(`unknown engine ${engine}`);
      const [sizeMs, speedMs, balancedMs] = await timeBlobs(engine, blobs, inputSize);
      console.log(
        `  ${engine.padEnd(8)} size ${sizeMs.toFixed(3)} ms, speed ${speedMs.toFixed(3)} ms, balanced ${balancedMs.toFixed(3)} ms: ` +
          `balanced / speed ×${(balancedMs / speedMs).toFixed(3)} (target ≤ 1.05)`,
      );
    }
    if (!args.includes('--instructions')) continue;
    const count = Math.ceil(2e6 / totalMacs(model)); // as bench:instructions: loading's own variation stays ≲ 1%
    for (const engine of INSTRUCTION_ENGINES) {
      const [sizeI, speedI, balancedI] = blobs.map((b) => instructionsPerInference(engine, b, inputSize, count) / 1e6);
      console.log(
        `  ${engine.padEnd(8)} size ${sizeI.toFixed(1)} M, speed ${speedI.toFixed(1)} M, balanced ${balancedI.toFixed(1)} M ` +
          `instructions: balanced / speed ×${(balancedI / speedI).toFixed(3)}`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
