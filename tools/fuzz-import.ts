// biome-ignore-all lint/suspicious/noExplicitAny: the fuzzer edits untyped decoded protobuf and JSON trees
// Importer fuzzer: mutated ONNX (field-level, on decoded protobuf, and raw bytes), TFLite (FlatBuffer bytes and
// int32 fields) and TF.js (model.json values, weight paths, nesting) models through what `morsel convert` runs
// (import, passes, calibration on 2 random inputs, quantization, blob). Every case must either convert or fail
// with a ModelError (the CLI's one line, exit 2); none may throw anything else (exit 1), take over 20 s, or read a
// file outside its model's folder (a canary file waits one level up). Run in a 1 GB heap by `npm run fuzz:import`.
//
//   node --max-old-space-size=1024 dist/tools/fuzz-import.js [cases] [seed] [N | FROM:TO]
// N replays case N alone (its model kept in /tmp/morsel-fuzz-case-N); FROM:TO runs cases FROM..TO-1 of the same
// sequence (each case is generated as in a whole run), so a run can be split over processes.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compileFile } from '../host/compile';
import { decodeOnnxBytes, encodeOnnx } from '../host/import/onnx/proto';
import { compileTflite } from '../host/import/tflite/compile';
import { ModelError } from '../host/ir/graph';
import { Rng } from '../host/util/rng';

const ROOT = path.join(__dirname, '..', '..');
const ONNX_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'onnx');
const TFJS_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tfjs', 'functional');
const TFLITE_FIXTURES = path.join(ROOT, '..', 'shared', 'fixtures', 'mlperf-tiny');
/** Seconds a case may take before the fuzz script counts it as a hang. */
const HANG_SECONDS = 20;

const INTERESTING = [0, -1, 1, 2, 3, 7, 255, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 1e9, 2 ** 53, 100000];
const NON_INTEGERS = [0.5, -0.5, 1e-9, 1e300, 'selu', null, true, [], {}, [1e9, 1e9], '../../../x'];

export interface FuzzFailure {
  format: string;
  index: number;
  kind: 'crash' | 'hang' | 'outside';
  detail: string;
}
export interface FuzzReport {
  cases: number;
  converted: number;
  refused: number;
  failures: FuzzFailure[];
  /** Wall time and CPU time of the slowest case. */
  slowestMs: number;
  slowestCpuMs: number;
}

/** Writes a 141-byte-class ONNX model from a ModelProto-shaped object (tests build reproductions with it). */
export function onnxModel(spec: {
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, unknown>[] }[];
  inits?: { name: string; dims: number[]; type?: number; data: number[] }[];
  inputs?: { name: string; dims: (number | string)[]; elem?: number }[];
  outputs?: string[];
  opset?: number;
}): Uint8Array {
  return encodeOnnx({
    ir_version: 8,
    producer_name: 'morsel-test',
    opset_import: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'g',
      node: spec.nodes.map((n, i) => ({
        name: `n${i}`,
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: n.attrs ?? [],
      })),
      initializer: (spec.inits ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        data_type: t.type ?? 1,
        ...((t.type ?? 1) === 1 ? { float_data: t.data } : { int64_data: t.data }),
      })),
      input: (spec.inputs ?? []).map((i) => ({
        name: i.name,
        type: {
          tensor_type: {
            elem_type: i.elem ?? 1,
            shape: { dim: i.dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
          },
        },
      })),
      output: (spec.outputs ?? []).map((name) => ({ name })),
    },
  });
}

/** A random element of an object tree and a way to replace it. */
function randomSlot(rng: Rng, root: any): { get: () => any; set: (v: any) => void } | undefined {
  const slots: { parent: any; key: string | number }[] = [];
  const visit = (v: any, depth: number) => {
    if (depth > 12 || !v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    for (const k of Object.keys(v)) {
      slots.push({ parent: v, key: Array.isArray(v) ? Number(k) : k });
      visit(v[k], depth + 1);
    }
  };
  visit(root, 0);
  if (!slots.length) return undefined;
  const s = rng.pick(slots);
  return { get: () => s.parent[s.key], set: (x) => (s.parent[s.key] = x) };
}

/** A marker that `tfjsText` turns into inbound nodes nested `depth` deep (too deep for JSON.stringify itself). */
export const deepNesting = (depth: number) => `@nest${depth}@`;
export const tfjsText = (json: unknown) =>
  JSON.stringify(json).replace(/"@nest(\d+)@"/g, (_, d) => `${'['.repeat(+d)}["input",0,0,{}]${']'.repeat(+d)}`);

function mutateBytes(rng: Rng, bytes: Uint8Array, head = bytes.length): Uint8Array {
  const out = Uint8Array.from(bytes);
  const r = rng.int(0, 4);
  if (r === 0) return out.subarray(0, rng.int(0, out.length));
  const view = new DataView(out.buffer);
  for (let k = rng.int(1, 8); k > 0; k--) {
    const at = rng.int(0, Math.max(1, Math.min(head, out.length) - 4));
    if (r === 1) out[at] = rng.int(0, 256);
    else if (r === 2) view.setInt32(at - (at % 4), rng.pick(INTERESTING) | 0, true);
    else out[at] ^= 1 << rng.int(0, 8);
  }
  return out;
}

function mutateOnnx(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (rng.next() < 0.25) return mutateBytes(rng, bytes, Math.min(bytes.length, 4096));
  const model = decodeOnnxBytes(bytes, 'fuzz seed');
  const g = model.graph;
  for (let k = rng.int(1, 3); k > 0; k--) {
    const r = rng.int(0, 8);
    const node = g.node.length ? rng.pick(g.node as any[]) : undefined;
    if (r === 0 && node?.attribute?.length) {
      const a = rng.pick(node.attribute as any[]);
      if (a.ints?.length) a.ints = a.ints.map(() => rng.pick(INTERESTING));
      else a.i = rng.pick(INTERESTING);
    } else if (r === 1 && g.initializer?.length) {
      const t = rng.pick(g.initializer as any[]);
      t.dims = t.dims.map((d: unknown) => (rng.next() < 0.5 ? rng.pick(INTERESTING) : d));
    } else if (r === 2 && g.input?.length) {
      const dims = g.input[0].type?.tensor_type?.shape?.dim ?? [];
      if (dims.length) rng.pick(dims as any[]).dim_value = rng.pick(INTERESTING);
    } else if (r === 3 && node) {
      node.op_type = rng.pick([
        'Range',
        'ConstantOfShape',
        'Conv',
        'MaxPool',
        'Gemm',
        'Reshape',
        'Transpose',
        'Concat',
      ]);
    } else if (r === 4 && node?.input?.length) {
      node.input[rng.int(0, node.input.length)] = rng.pick([...g.node.flatMap((n: any) => n.output), 'nowhere', '']);
    } else if (r === 5) {
      g.output.push({ name: rng.pick(g.node as any[]).output[0] });
    } else if (r === 6 && g.initializer?.length) {
      const t = rng.pick(g.initializer as any[]);
      if (t.raw_data?.length) t.raw_data = t.raw_data.subarray(0, rng.int(0, t.raw_data.length));
      else t.float_data = (t.float_data ?? []).slice(0, rng.int(0, 4));
    } else if (node) {
      node.attribute = [
        ...(node.attribute ?? []),
        {
          name: rng.pick(['strides', 'kernel_shape', 'pads', 'dilations', 'group', 'axis', 'perm', 'ceil_mode']),
          ints: [rng.pick(INTERESTING), rng.pick(INTERESTING)],
          i: rng.pick(INTERESTING),
        },
      ];
    }
  }
  return encodeOnnx(model);
}

function mutateTfjs(rng: Rng, json: any): unknown {
  const layers = json.modelTopology.model_config?.config?.layers ?? json.modelTopology.config?.layers;
  for (let k = rng.int(1, 3); k > 0; k--) {
    const r = rng.int(0, 6);
    if (r === 0 && Array.isArray(json.weightsManifest?.[0]?.paths))
      json.weightsManifest[0].paths[0] = rng.pick(['../canary.bin', '../../../x', '/etc/hostname', '', 7]);
    else if (r === 1 && layers?.length) layers.splice(rng.int(0, layers.length), 0, structuredClone(rng.pick(layers)));
    else if (r === 2 && layers?.length) rng.pick(layers as any[]).inbound_nodes = [deepNesting(rng.pick([10, 5000]))];
    else {
      const slot = randomSlot(rng, rng.next() < 0.7 && layers?.length ? rng.pick(layers) : json);
      slot?.set(rng.next() < 0.5 ? rng.pick(INTERESTING) : rng.pick(NON_INTEGERS));
    }
  }
  return json;
}

/** Runs `cases` mutated models (a third per format) and reports every failure. */
export function fuzzImporters(
  cases: number,
  seed: number,
  opts: { hangSeconds?: number; log?: (line: string) => void; only?: [number, number]; keep?: string } = {},
): FuzzReport {
  const { hangSeconds, log } = opts;
  const rng = new Rng(seed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-fuzz-import-'));
  const report: FuzzReport = { cases: 0, converted: 0, refused: 0, failures: [], slowestMs: 0, slowestCpuMs: 0 };
  const onnxSeeds = fs
    .readdirSync(ONNX_FIXTURES)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => new Uint8Array(fs.readFileSync(path.join(ONNX_FIXTURES, f))));
  const tfliteSeeds = ['kws_ref_model_float32.tflite', 'kws_ref_model.tflite', 'ad01_int8.tflite']
    .map((f) => path.join(TFLITE_FIXTURES, f))
    .filter((f) => fs.existsSync(f))
    .map((f) => new Uint8Array(fs.readFileSync(f)));
  const tfjsJson = fs.readFileSync(path.join(TFJS_FIXTURE, 'model.json'), 'utf8');
  const tfjsWeights = fs.readFileSync(path.join(TFJS_FIXTURE, 'weights.bin'));
  // Every read an importer makes is recorded, to prove none leaves the case's folder.
  const reads: string[] = [];
  // The module object itself (import * gives read-only getters onto it): the importers' reads all go through it.
  const nodeFs: typeof fs = require('fs');
  const original = { readFileSync: nodeFs.readFileSync, openSync: nodeFs.openSync };
  (nodeFs as any).readFileSync = (p: fs.PathOrFileDescriptor, ...rest: any[]) => {
    if (typeof p === 'string') reads.push(path.resolve(p));
    return (original.readFileSync as any)(p, ...rest);
  };
  (nodeFs as any).openSync = (p: fs.PathLike, ...rest: any[]) => {
    reads.push(path.resolve(String(p)));
    return (original.openSync as any)(p, ...rest);
  };
  try {
    fs.writeFileSync(path.join(work, 'canary.bin'), Buffer.alloc(64));
    const formats = ['onnx', 'tfjs', ...(tfliteSeeds.length ? ['tflite'] : [])];
    for (let index = 0; index < cases; index++) {
      const format = formats[index % formats.length];
      const dir = path.join(work, `case${index}`);
      fs.mkdirSync(dir);
      let file: string;
      if (format === 'onnx') {
        file = path.join(dir, 'model.onnx');
        fs.writeFileSync(file, mutateOnnx(rng, rng.pick(onnxSeeds)));
      } else if (format === 'tflite') {
        file = path.join(dir, 'model.tflite');
        fs.writeFileSync(file, mutateBytes(rng, rng.pick(tfliteSeeds), 2048));
      } else {
        file = path.join(dir, 'model.json');
        fs.writeFileSync(file, tfjsText(mutateTfjs(rng, JSON.parse(tfjsJson))));
        fs.writeFileSync(path.join(dir, 'weights.bin'), tfjsWeights);
      }
      if (opts.only && (index < opts.only[0] || index >= opts.only[1])) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (opts.keep) fs.cpSync(dir, opts.keep, { recursive: true });
      reads.length = 0;
      const started = Date.now();
      const cpu0 = process.cpuUsage();
      const calibrated = { calib: 'random:0:1', calibCount: 2, quiet: true };
      try {
        // An int8 .tflite takes no calibration data, a float one needs it.
        if (format === 'tflite') {
          try {
            compileTflite(file, { quiet: true });
          } catch (e) {
            if (!(e instanceof ModelError && /is a float model/.test(e.message))) throw e;
            compileTflite(file, calibrated);
          }
        } else compileFile(file, calibrated);
        report.converted++;
      } catch (e) {
        if (e instanceof ModelError) report.refused++;
        else
          report.failures.push({
            format,
            index,
            kind: 'crash',
            detail: `${(e as Error)?.name}: ${(e as Error)?.message?.slice(0, 300)}\n${(e as Error)?.stack?.split('\n').slice(1, 4).join('\n')}`,
          });
      }
      const ms = Date.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
      report.slowestMs = Math.max(report.slowestMs, ms);
      report.slowestCpuMs = Math.max(report.slowestCpuMs, cpuMs);
      // A hang is work: the process's own CPU time (every thread's), which a machine loaded by other jobs does
      // not inflate the way it inflates wall time (a 2 s case took 22 s of wall time at load 20).
      if (hangSeconds !== undefined && cpuMs > hangSeconds * 1000)
        report.failures.push({ format, index, kind: 'hang', detail: `${cpuMs} ms of CPU (${ms} ms wall)` });
      const outside = reads.filter((r) => !r.startsWith(dir + path.sep) && r.startsWith(work));
      if (outside.length) report.failures.push({ format, index, kind: 'outside', detail: outside.join(', ') });
      report.cases++;
      // A failure is printed when it happens, so a long run that is stopped still tells which case to replay.
      for (const f of report.failures.filter((x) => x.index === index))
        log?.(`  ${f.format} case ${f.index} ${f.kind}: ${f.detail}`);
      fs.rmSync(dir, { recursive: true, force: true });
      if (log && (index + 1) % 500 === 0)
        log(
          `${index + 1}/${cases}: ${report.converted} converted, ${report.refused} refused, ${report.failures.length} failures`,
        );
    }
  } finally {
    Object.assign(nodeFs, original);
    fs.rmSync(work, { recursive: true, force: true });
  }
  return report;
}

if (require.main === module) {
  const cases = Number(process.argv[2] ?? 6000);
  const seed = Number(process.argv[3] ?? 1);
  const started = Date.now();
  const arg = process.argv[4];
  const range = arg?.includes(':') ? arg.split(':').map(Number) : undefined;
  const one = arg !== undefined && !range ? Number(arg) : undefined;
  const r = fuzzImporters(cases, seed, {
    hangSeconds: HANG_SECONDS,
    log: (line) => console.log(line),
    only: range ? [range[0], range[1]] : one !== undefined ? [one, one + 1] : undefined,
    keep: one === undefined ? undefined : path.join(os.tmpdir(), `morsel-fuzz-case-${one}`),
  });
  const heapMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(
    `importer fuzz: ${r.cases} cases (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${r.converted} converted, ${r.refused} refused with a ModelError, ${r.failures.length} failures; slowest case ${r.slowestMs} ms wall, ${r.slowestCpuMs} ms CPU; rss ${heapMb} MB`,
  );
  process.exitCode = r.failures.length ? 1 : 0;
}
