import { readBlobFile } from '../blob/verify';
import { loadFashionMnist } from '../data/fashion-mnist';
import { parseNpy } from '../data/npy';
import { MAX_DATA_BYTES, readDataFile, requireFinite } from '../data/read';
import { ENGINES, runOnEngine } from '../engines';
import { runInt8 } from '../interp/int8/interpreter';
import { blobLayouts, moveChannels, sourceShapeOf } from '../import/boundary';
import { ModelError } from '../ir/graph';
import type { QModel } from '../ir/qmodel';
import { quantizeInput } from '../quantize/quantize';
import { baudOf, runOnPort } from './serial-commands';
import { parseChoice, parseCount } from './convert';
import type { Command } from './main';
import { UsageError } from './main';
import { numel } from '../ir/shape';

/**
 * An input tensor from `idx:N` (the N-th Fashion-MNIST test image), a .npy array or raw int8 bytes, in the source
 * model's layout (NCHW / NCL for an ONNX model's 4-D / 1-D input), as the blob's producer note records it.
 */
export function readInput(spec: string, model: QModel): Int8Array {
  const stored = model.tensors[model.inputs[0]].shape;
  const layout = blobLayouts(model).input;
  const need = numel(stored);
  const quantized = (x: Float32Array) => quantizeInput(model, moveChannels(layout, stored, x, true, spec));
  const m = /^idx:(\d+)$/.exec(spec);
  if (m) {
    const n = Number(m[1]);
    const ds = loadFashionMnist('test', n + 1);
    if (n >= ds.count) throw new ModelError(`idx:${n}: the test set has ${ds.count} images`);
    return quantized(Float32Array.from(ds.images.subarray(n * 784, (n + 1) * 784), (p) => p / 255));
  }
  // A raw input is exactly `need` bytes; reading one more shows a longer file (or a device such as /dev/zero).
  const bytes = readDataFile(spec, 'input file', spec.endsWith('.npy') ? MAX_DATA_BYTES : need + 1);
  if (spec.endsWith('.npy')) {
    const a = parseNpy(bytes, spec);
    if (a.data.length !== need)
      throw new ModelError(
        `${spec}: ${a.data.length} values; the model input [${sourceShapeOf(stored, layout)}] needs ${need}`,
      );
    if (a.data instanceof Int8Array) return moveChannels(layout, stored, a.data, true, spec); // already quantized
    requireFinite(a.data, spec);
    // uint8 is pixel data, scaled to [0, 1] as --calib and --data scale it (host/data/dataset.ts).
    const scale = a.data instanceof Uint8Array ? 1 / 255 : 1;
    return quantized(Float32Array.from(a.data as ArrayLike<number>, (v) => v * scale));
  }
  if (bytes.length !== need)
    throw new ModelError(`${spec}: ${bytes.length} bytes; the model input needs ${need} int8 values`);
  return moveChannels(layout, stored, new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), true, spec);
}

/**
 * The host int8 reference's time per op, µs: a warm-up run, then the median of `repeat` runs (each op timed by
 * process.hrtime between the interpreter's per-op callbacks).
 */
function hostLayerUs(model: QModel, x: Int8Array, repeat: number): number[] {
  const runs: number[][] = model.ops.map(() => []);
  for (let r = 0; r <= repeat; r++) {
    let k = 0,
      t = process.hrtime.bigint();
    runInt8(model, [x], () => {
      const now = process.hrtime.bigint();
      if (r > 0) runs[k].push(Number(now - t) / 1000);
      k++;
      t = now;
    });
  }
  return runs.map((us) => us.sort((a, b) => a - b)[us.length >> 1]);
}

export const runCommand: Command = {
  summary: 'run a blob on the host reference or on an embedded engine and print its output and per-layer times',
  usage:
    `morsel run <model.msl> --input <file|file.npy|idx:N> [--engine host|${ENGINES.join('|')} | --port P [--baud B]] ` +
    '[--profile] [--repeat N] [--json]\n' +
    "       morsel run --port P --input <file|file.npy|idx:N> [--baud B] [--json]   (the board's own model, read back from it)",
  options: {
    input: { type: 'string' },
    engine: { type: 'string' },
    port: { type: 'string' },
    baud: { type: 'string' },
    json: { type: 'boolean' },
    profile: { type: 'boolean' },
    repeat: { type: 'string' },
  },
  async run({ values, positionals }) {
    const [file] = positionals;
    if ((!file && typeof values.port !== 'string') || !values.input)
      throw new UsageError(`missing <model.msl> (or --port) or --input\nusage: ${this.usage}`);
    if (values.port !== undefined && values.engine !== undefined)
      throw new UsageError('--port and --engine exclude each other: a board runs its own engine');
    const local = file ? readBlobFile(file) : null;
    const engine =
      values.port !== undefined
        ? `port ${values.port}`
        : parseChoice('--engine', values.engine, ['host', ...ENGINES] as const, 'host');
    // --repeat N: per-layer times over N runs after a warm-up (the host's median; an engine's mean, see EngineRun).
    const repeat = parseCount('--repeat', values.repeat, 1);
    if (values.repeat !== undefined && values.port !== undefined)
      throw new UsageError('--repeat runs on the host or an --engine; a board times one inference');
    let model = local?.model as QModel;
    let output: Int8Array;
    let layerMs: number[] | undefined;
    if (typeof values.port === 'string') {
      const input = local
        ? readInput(values.input as string, local.model)
        : (m: QModel) => readInput(values.input as string, m);
      const r = await runOnPort(values.port, input, baudOf(values), local?.bytes);
      model = local?.model ?? r.model!;
      output = r.output;
      layerMs = r.layer_us.map((us) => us / 1000);
    } else {
      const x = readInput(values.input as string, model);
      if (engine === 'host') {
        output = runInt8(model, [x])[0];
        if (values.profile || values.repeat !== undefined)
          layerMs = hostLayerUs(model, x, repeat).map((us) => us / 1000);
      } else {
        const runs = repeat > 1 || values.repeat !== undefined ? repeat + 1 : 1;
        ({
          outputs: [output],
          layerMs,
        } = await runOnEngine(engine as (typeof ENGINES)[number], local!.bytes, new Array(runs).fill(x)));
      }
    }
    const out = model.tensors[model.outputs[0]];
    // The output in the source model's layout, as its user reads it.
    const outLayout = blobLayouts(model).output;
    output = moveChannels(outLayout, out.shape, output, false, 'output');
    const result = {
      engine,
      shape: sourceShapeOf(out.shape, outLayout),
      layout: outLayout ?? null,
      output: Array.from(output),
      dequantized: Array.from(output, (q) => out.scale[0] * (q - out.zeroPoint[0])),
      argmax: Array.from(output).reduce((b, v, i, a) => (v > a[b] ? i : b), 0),
      layers: model.ops.map((op, i) => ({
        op: op.opcode as string,
        name: op.name,
        us: layerMs ? Math.round(layerMs[i] * 1000 * 10) / 10 : null,
      })),
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `output (${engine}) [${result.shape.join('x')}]${outLayout ? ` ${outLayout}` : ''}: [${result.output.join(', ')}]  argmax ${result.argmax}`,
      );
      if (layerMs) for (const l of result.layers) console.log(`  ${l.op.padEnd(18)} ${l.name.padEnd(20)} ${l.us} µs`);
    }
    return 0;
  },
};
