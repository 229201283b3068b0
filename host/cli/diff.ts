// `morsel diff`: two executions of one model, layer by layer, and the first layer where they differ.
// An execution is the host int8 reference (in the model's rounding mode, or re-imported from a .tflite in the
// other one), a device engine, or a golden file recorded from TFLite Micro.

import { ENGINES, type Engine } from '../engines';
import { goldenLayersInput, readGolden } from '../import/tflite/golden';
import type { QModel } from '../ir/qmodel';
import { ROUNDING_MODES, type RoundingMode, TFLITE_DOUBLE_ROUNDING_OPS } from '../quantize/fixedpoint';
import { Rng } from '../util/rng';
import { compareLayers, engineLayers, hostLayers, type LayerOutputs, loadQModel, randomInt8Input } from './layer-diff';
import type { Command } from './main';
import { UsageError } from './main';
import { readInput } from './run';

const EXECUTIONS = `host, ${ROUNDING_MODES.map((m) => `host:${m}`).join(', ')}, ${ENGINES.join(', ')}, golden:<file.golden.json>`;

export const diffCommand: Command = {
  summary:
    'run a model two ways (host reference, rounding mode, device engine, TFLM golden file) and show the first layer that differs',
  usage:
    'morsel diff <model.msl|model.tflite> [--input <file|file.npy|idx:N|random[:SEED]>] [--a EXEC] [--b EXEC] [--json]\n' +
    `  EXEC: ${EXECUTIONS} (defaults: --a host --b node); a golden file brings its own input. Exit code 1 when they differ.\n` +
    "  Rounding modes: double = TFLite Micro (every kernel), single = TFLITE_SINGLE_ROUNDING in every kernel, tflite = full TFLite's kernels\n" +
    `  (single rounding except ${TFLITE_DOUBLE_ROUNDING_OPS.join(', ')}, which keep double rounding; see device/README.md).`,
  options: { input: { type: 'string' }, a: { type: 'string' }, b: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model>\nusage: ${this.usage}`);
    const specs = [(values.a as string | undefined) ?? 'host', (values.b as string | undefined) ?? 'node'];
    const model = loadQModel(file);
    const golden = specs.find((s) => s.startsWith('golden:'));
    let input: Int8Array;
    if (golden) {
      if (values.input !== undefined) throw new UsageError('a golden file brings its own input: drop --input');
      input = goldenLayersInput(readGolden(golden.slice('golden:'.length)));
    } else {
      if (values.input === undefined) throw new UsageError(`missing --input\nusage: ${this.usage}`);
      input = parseDiffInput(values.input as string, model);
    }
    const sides: LayerOutputs[] = [];
    for (const spec of specs) sides.push(await layersOf(spec, file, model, input));
    const { layers, firstDifferent } = compareLayers(model, sides[0], sides[1]);
    if (values.json) console.log(JSON.stringify({ a: specs[0], b: specs[1], firstDifferent, layers }));
    else {
      console.log(`${specs[0]} vs ${specs[1]}`);
      for (const l of layers) {
        const verdict =
          l.differing === null
            ? 'not recorded'
            : l.differing === 0
              ? 'same'
              : `${l.differing} of ${l.elements} differ, max |Δ| ${l.maxAbs}`;
        console.log(
          `  ${String(l.index).padStart(3)}  ${l.op.padEnd(18)} ${l.name.slice(0, 40).padEnd(40)} ${verdict}`,
        );
      }
      console.log(
        firstDifferent < 0
          ? 'identical at every compared layer'
          : `first difference: layer ${firstDifferent} (${layers[firstDifferent].op} '${layers[firstDifferent].name}')`,
      );
    }
    return firstDifferent < 0 ? 0 : 1;
  },
};

function parseDiffInput(spec: string, model: QModel): Int8Array {
  const m = /^random(?::(\d+))?$/.exec(spec);
  return m ? randomInt8Input(model, new Rng(Number(m[1] ?? 1))) : readInput(spec, model);
}

async function layersOf(spec: string, file: string, model: QModel, input: Int8Array): Promise<LayerOutputs> {
  if (spec === 'host') return hostLayers(model, input);
  if (ROUNDING_MODES.some((m) => spec === `host:${m}`))
    return hostLayers(loadQModel(file, spec.slice('host:'.length) as RoundingMode), input);
  if ((ENGINES as readonly string[]).includes(spec)) return engineLayers(spec as Engine, model, input);
  if (spec.startsWith('golden:')) {
    const byName = new Map(readGolden(spec.slice('golden:'.length)).layers.map((l) => [l.name, l.data]));
    return model.ops.map((op) => byName.get(op.name));
  }
  throw new UsageError(`unknown execution '${spec}' (one of ${EXECUTIONS})`);
}
