// biome-ignore-all lint/suspicious/noExplicitAny: the cases edit an untyped model.json
// Importers validate before they compute (issue 14 item 2): each reproduction from the issue is a model here, and
// each must give one clear ModelError line (the CLI's exit 2) fast, without allocating what the model asks for.

import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compileFile } from '../host/compile';
import { importModel } from '../host/import';
import { decodeOnnxBytes, encodeOnnx } from '../host/import/onnx/proto';
import { ModelError } from '../host/ir/graph';
import { Rng } from '../host/util/rng';
import { deepNesting, fuzzImporters, onnxModel, tfjsText } from '../tools/fuzz-import';

const ROOT = path.join(__dirname, '..', '..');
const INT64 = 7;
let work: string;
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-import-validation-'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

let fileCount = 0;
function onnxFile(spec: Parameters<typeof onnxModel>[0]): string {
  const f = path.join(work, `m${fileCount++}.onnx`);
  fs.writeFileSync(f, onnxModel(spec));
  return f;
}
/** The model is refused with one ModelError line matching `why`. */
function refused(file: string, why: RegExp, compile = false): void {
  assert.throws(
    () => (compile ? compileFile(file, { calib: 'random:0:1', calibCount: 2, quiet: true }) : importModel(file)),
    (e: unknown) => {
      assert.ok(e instanceof ModelError, `${file}: ${(e as Error)?.stack}`);
      assert.match(e.message, why);
      assert.ok(!e.message.includes('\n'), e.message);
      return true;
    },
  );
}
const x4 = { name: 'x', dims: [1, 1, 4, 4] };

/** A Sequential TF.js model in its own folder: conv 3×3×4 → max pool 2 → flatten → dense 10, random weights. */
function tfjsModel(edit: (layers: any[], json: any) => void = () => {}): string {
  const dir = fs.mkdtempSync(path.join(work, 'tfjs-'));
  const layers: any[] = [
    {
      class_name: 'Conv2D',
      config: {
        name: 'conv',
        filters: 4,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'valid',
        activation: 'relu',
        batch_input_shape: [null, 8, 8, 1],
      },
    },
    { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], padding: 'valid' } },
    { class_name: 'Flatten', config: { name: 'flatten' } },
    { class_name: 'Dense', config: { name: 'dense', units: 10, activation: 'softmax' } },
  ];
  const weights = [
    { name: 'conv/kernel', shape: [3, 3, 1, 4], dtype: 'float32' },
    { name: 'conv/bias', shape: [4], dtype: 'float32' },
    { name: 'dense/kernel', shape: [36, 10], dtype: 'float32' },
    { name: 'dense/bias', shape: [10], dtype: 'float32' },
  ];
  const json = {
    modelTopology: { class_name: 'Sequential', config: { name: 'seq', layers } },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  };
  const rng = new Rng(7);
  const count = 36 + 4 + 360 + 10;
  fs.writeFileSync(
    path.join(dir, 'weights.bin'),
    Buffer.from(Float32Array.from({ length: count }, () => rng.normal()).buffer),
  );
  edit(layers, json);
  fs.writeFileSync(path.join(dir, 'model.json'), tfjsText(json));
  return path.join(dir, 'model.json');
}

describe('importers validate before they compute (issue 14 item 2)', () => {
  it('ONNX: constant folding is bounded by an element budget that names the node', () => {
    const scalar = (name: string, v: number) => ({ name, dims: [], type: INT64, data: [v] });
    refused(
      onnxFile({
        inits: [scalar('start', 0), scalar('limit', 1e9), scalar('delta', 1)],
        inputs: [{ name: 'x', dims: [1, 4] }],
        nodes: [
          { op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['r'] },
          { op: 'Add', inputs: ['x', 'r'], outputs: ['y'] },
        ],
        outputs: ['y'],
      }),
      /^node 0 'n0' \(Range\): Range\(0, 1000000000, 1\) has 1000000000 elements, beyond the limit of 16777216$/,
    );
    refused(
      onnxFile({
        inits: [{ name: 'shape', dims: [2], type: INT64, data: [100000, 10000] }],
        inputs: [{ name: 'x', dims: [1, 4] }],
        nodes: [
          { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['c'] },
          { op: 'Add', inputs: ['x', 'c'], outputs: ['y'] },
        ],
        outputs: ['y'],
      }),
      /\(ConstantOfShape\): \[100000,10000\] has 1000000000 elements, beyond the limit/,
    );
  });

  it('ONNX: negative, 2^31 and 0 dimensions, zero strides and huge windows are refused', () => {
    const conv = (attrs: Record<string, unknown>[], w = [2, 1, 3, 3]) =>
      onnxFile({
        inits: [
          {
            name: 'w',
            dims: w,
            data: new Array(18).fill(0.1),
          },
        ],
        inputs: [x4],
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs }],
        outputs: ['y'],
      });
    refused(conv([{ name: 'strides', ints: [0, 0] }]), /\(Conv\): strides \[0,0\] must be two positive integers/);
    refused(conv([], [2, 1, 3, -3]), /dimension 3 of \[2,1,3,-3\] is -3; dimensions must be non-negative integers/);
    refused(conv([], [2 ** 31, 1, 1, 1]), /\[2147483648,1,1,1\] has 2147483648 elements, beyond the limit/);
    // An empty weight claiming 10^9 output channels (importer fuzz seed 12, case 2631: 103 s before it was refused).
    refused(conv([], [1e9, 1, 0, 3]), /\(Conv\): the weight: dimension 2 of \[1000000000,1,0,3\] is 0/);
    for (const dims of [
      [1, -1, 4, 4],
      [1, 2 ** 31, 4, 4],
      [1, 0, 4, 4],
    ])
      refused(
        onnxFile({
          inputs: [{ name: 'x', dims }],
          nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
          outputs: ['y'],
        }),
        /input 'x'(: \[1,2147483648,4,4\] has 34359738368 elements| needs static dimensions)/,
      );
    refused(
      onnxFile({
        inputs: [x4],
        nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: [{ name: 'kernel_shape', ints: [1e9, 1e9] }] }],
        outputs: ['y'],
      }),
      /\(MaxPool\): kernel_shape \[1000000000,1000000000\] must be two positive integers/,
    );
  });

  it('ONNX: a multi-output graph and optional/sequence inputs are refused at convert time with the reason', () => {
    const two = onnxFile({
      inputs: [{ name: 'x', dims: [1, 4] }],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['a'] },
        { op: 'Sigmoid', inputs: ['x'], outputs: ['b'] },
      ],
      outputs: ['a', 'b'],
    });
    refused(two, /has 2 outputs \(a, b\); the device runs models with one input and one output/, true);
    const f = path.join(work, 'sequence.onnx');
    // TypeProto.sequence_type (field 4) instead of tensor_type: what torch exports for a list input.
    const bytes = onnxModel({
      inputs: [{ name: 'x', dims: [1, 4] }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
      outputs: ['y'],
    });
    const model = decodeOnnxBytes(bytes, f);
    model.graph.input[0].type = { sequence_type: new Uint8Array([10, 0]) };
    fs.writeFileSync(f, encodeOnnx(model));
    refused(f, /input 'x' is a sequence; only tensor inputs are supported/);
  });

  it('TF.js: weight paths stay inside the model folder (relative, no .., no absolute path)', () => {
    fs.writeFileSync(path.join(work, 'secret.bin'), Buffer.alloc(1640));
    refused(
      tfjsModel((_, json) => {
        json.weightsManifest[0].paths = ['../secret.bin'];
      }),
      /weight path \.\.\/secret\.bin leaves the model's folder/,
    );
    refused(
      tfjsModel((_, json) => {
        json.weightsManifest[0].paths = ['../../../x'];
      }),
      /weight path \.\.\/\.\.\/\.\.\/x leaves the model's folder/,
    );
    refused(
      tfjsModel((_, json) => {
        json.weightsManifest[0].paths = [path.join(work, 'secret.bin')];
      }),
      /weight path ".*secret\.bin" must be a file name relative to the model/,
    );
  });

  it('TF.js: weight shapes are checked against each layer and every size is a positive integer', () => {
    assert.equal(importModel(tfjsModel()).nodes.length, 6, 'the unedited model imports');
    const cases: [string, (layers: any[], json: any) => void, RegExp][] = [
      ['duplicate Dense', (ls) => ls.push(structuredClone(ls[3])), /two layers are named 'dense'/],
      [
        'duplicate Dense renamed',
        (ls) => ls.push({ ...structuredClone(ls[3]), config: { ...ls[3].config, name: 'dense2' } }),
        /weight dense2\/kernel is missing/,
      ],
      [
        'units 64 with a [36,10] kernel',
        (ls) => (ls[3].config.units = 64),
        /weight dense\/kernel has shape \[36,10\]; the layer needs \[36,64\]/,
      ],
      [
        'units 2^31',
        (ls) => (ls[3].config.units = 2 ** 31),
        /'dense' \(Dense\): units is 2147483648; it must be a positive integer/,
      ],
      [
        'kernel_size 0',
        (ls) => (ls[0].config.kernel_size = 0),
        /'conv' \(Conv2D\): kernel_size is 0; it must be a positive integer/,
      ],
      [
        'kernel_size 0.5',
        (ls) => (ls[0].config.kernel_size = [0.5, 0.5]),
        /kernel_size is 0\.5; it must be a positive integer/,
      ],
      ['filters "selu"', (ls) => (ls[0].config.filters = 'selu'), /filters is "selu"; it must be a positive integer/],
      [
        'pool_size [1e9,1e9]',
        (ls) => (ls[1].config.pool_size = [1e9, 1e9]),
        /pool_size is 1000000000; it must be a positive integer/,
      ],
      [
        'negative input shape',
        (ls) => (ls[0].config.batch_input_shape = [null, -8, 8, 1]),
        /input input: dimension 1 of \[1,-8,8,1\] is -8/,
      ],
      [
        '5,000-deep nesting',
        (_, json) => {
          json.modelTopology.class_name = 'Model';
          json.modelTopology.config.layers[0].inbound_nodes = [deepNesting(5000)];
        },
        /inbound_nodes are nested deeper than 32/,
      ],
    ];
    for (const [what, edit, why] of cases) {
      try {
        refused(tfjsModel(edit), why);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    }
  });

  it('the CLI prints the one line and exits 2 (Range(0,1e9,1) and a weight path outside the folder)', () => {
    const scalar = (name: string, v: number) => ({ name, dims: [], type: INT64, data: [v] });
    const range = onnxFile({
      inits: [scalar('start', 0), scalar('limit', 1e9), scalar('delta', 1)],
      inputs: [{ name: 'x', dims: [1, 4] }],
      nodes: [
        { op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['r'] },
        { op: 'Add', inputs: ['x', 'r'], outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    const outside = tfjsModel((_, json) => {
      json.weightsManifest[0].paths = ['../../../x'];
    });
    for (const [file, why] of [
      [range, /Range\(0, 1000000000, 1\) has 1000000000 elements/],
      [outside, /leaves the model's folder/],
    ] as const) {
      const out = path.join(work, 'out.msl');
      const r = spawnSync(
        process.execPath,
        [
          '--max-old-space-size=1024',
          path.join(ROOT, 'bin', 'morsel.js'),
          'convert',
          file,
          '--calib',
          'random:0:1',
          '-o',
          out,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!fs.existsSync(out), 'no output written');
    }
  });

  it('importer fuzz: 240 mutated ONNX/TFLite/TF.js models convert or fail with a ModelError; none reads outside its folder', () => {
    // No time limit here (speed belongs in `npm run fuzz:import`, which also caps each case at 20 s).
    const r = fuzzImporters(240, 20261207);
    assert.equal(r.cases, 240);
    assert.ok(r.refused > 0 && r.converted > 0, `${r.converted} converted, ${r.refused} refused`);
    assert.deepEqual(
      r.failures.map((f) => `${f.format} case ${f.index} ${f.kind}: ${f.detail}`),
      [],
    );
  });
});
