import { strict as assert } from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { compileFile } from '../host/compile';
import { loadSamples } from '../host/data/dataset';
import { importModel } from '../host/import';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { toDeviceGraph } from '../host/passes';
import { dequantizeOutput, quantizeInput } from '../host/quantize/quantize';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'morsel.js');
const zoo = (name: string) => path.join(ROOT, 'models', name, 'model.json');
const argmax = (x: ArrayLike<number>) => Array.from(x).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);

describe('compiler pipeline on the zoo models (TF.js → int8 blob)', () => {
  for (const name of ['fashion_mlp', 'fashion_cnn']) {
    describe(name, () => {
      const compiled = compileFile(zoo(name), { calib: 'fashion-mnist:train', calibCount: 200, quiet: true });
      const test = loadSamples('fashion-mnist', { split: 'test', limit: 300, size: 784 });

      it('passes (BN folding, activation fusion) preserve the float outputs', () => {
        const g = importModel(zoo(name));
        const device = toDeviceGraph(g);
        assert.ok(device.nodes.length < g.nodes.length, 'passes removed nodes');
        assert.ok(!device.nodes.some((n) => n.op.kind === 'batchnorm' || n.op.kind === 'relu'));
        for (const x of test.inputs.slice(0, 20)) {
          const a = Object.values(runFloat(g, { [g.inputs[0]]: x }))[0];
          const b = Object.values(runFloat(device, { [device.inputs[0]]: x }))[0];
          a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-3 * (1 + Math.abs(v)), `${v} vs ${b[i]}`));
        }
      });

      it('int8 reference agrees with float on ≥ 96% of 300 test images, logits within a few output scales', () => {
        let agree = 0;
        const out = compiled.model.tensors[compiled.model.outputs[0]];
        test.inputs.forEach((x) => {
          const f = Object.values(runFloat(compiled.source, { [compiled.source.inputs[0]]: x }))[0];
          const q = dequantizeOutput(compiled.model, runInt8(compiled.model, [quantizeInput(compiled.model, x)])[0]);
          if (argmax(f) === argmax(q)) agree++;
          const err = Math.max(...Array.from(f, (v, i) => Math.abs(v - q[i])));
          assert.ok(err < 12 * out.scale[0], `max logit error ${err} vs scale ${out.scale[0]}`);
        });
        assert.ok(agree / test.inputs.length >= 0.96, `agreement ${agree}/300`);
      });

      it('the blob decodes to the same model and stays within 10% + 2 KB of raw weights + biases', () => {
        const d = decodeModel(compiled.blob);
        assert.deepEqual(
          d.ops.map((o) => o.opcode),
          compiled.model.ops.map((o) => o.opcode),
        );
        const x = quantizeInput(compiled.model, test.inputs[0]);
        assert.deepEqual(runInt8(d, [x]), runInt8(compiled.model, [x]));
        const raw = compiled.model.tensors.filter((t) => t.data).reduce((a, t) => a + t.data!.byteLength, 0);
        assert.ok(compiled.blob.length <= raw * 1.1 + 2048, `${compiled.blob.length} vs raw ${raw}`);
      });
    });
  }

  it('is deterministic: same inputs, same bytes', () => {
    const a = compileFile(zoo('fashion_mlp'), { calib: 'fashion-mnist:train', calibCount: 50, quiet: true }).blob;
    const b = compileFile(zoo('fashion_mlp'), { calib: 'fashion-mnist:train', calibCount: 50, quiet: true }).blob;
    assert.deepEqual(a, b);
  });
});

describe('morsel CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-cli-'));
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  it('convert writes blob, C header and JS module; inspect --json reports totals', () => {
    const out = path.join(tmp, 'mlp.msl');
    const r = run(
      'convert',
      zoo('fashion_mlp'),
      '--calib',
      'fashion-mnist:train',
      '--calib-count',
      '50',
      '-o',
      out,
      '--c-header',
      '--js',
      '-q',
    );
    assert.equal(r.status, 0, r.stderr);
    const blob = fs.readFileSync(out);
    const header = fs.readFileSync(path.join(tmp, 'mlp.h'), 'utf8');
    assert.match(header, /static const uint8_t mlp\[\] __attribute__\(\(aligned\(16\)\)\) = \{/);
    assert.match(header, new RegExp(`static const size_t mlp_len = ${blob.length};`));
    const mod = require(path.join(tmp, 'mlp.js'));
    assert.deepEqual(Buffer.from(mod.bytes()), blob);
    const report = JSON.parse(execFileSync(process.execPath, [CLI, 'inspect', out, '--json'], { encoding: 'utf8' }));
    assert.equal(report.flash_bytes, blob.length);
    assert.equal(report.macs, 784 * 128 + 128 * 10);
    assert.equal(report.layers.length, 2);
    assert.ok(report.arena_bytes > 0);
  });

  it('eval --json prints float_top1, int8_top1 and samples', () => {
    const r = run('eval', zoo('fashion_mlp'), '--data', 'fashion-mnist', '--limit', '200', '--json');
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.samples, 200);
    assert.ok(e.float_top1 > 0.8 && e.int8_top1 > 0.8);
    assert.equal(e.per_class.length, 10);
  });

  const badCases: [string, () => string[], RegExp][] = [
    [
      'a missing file',
      () => ['convert', path.join(tmp, 'nope.json'), '--calib', 'fashion-mnist', '-o', path.join(tmp, 'x.msl')],
      /not found/,
    ],
    [
      'a non-model file',
      () => {
        fs.writeFileSync(path.join(tmp, 'junk.bin'), 'garbage bytes');
        return ['convert', path.join(tmp, 'junk.bin'), '-o', path.join(tmp, 'x.msl')];
      },
      /unrecognised model format/,
    ],
    [
      'a truncated model.json',
      () => {
        fs.writeFileSync(path.join(tmp, 'trunc.json'), fs.readFileSync(zoo('fashion_mlp'), 'utf8').slice(0, 200));
        return ['convert', path.join(tmp, 'trunc.json'), '-o', path.join(tmp, 'x.msl')];
      },
      /not a TF\.js model\.json/,
    ],
    [
      'calibration data of the wrong shape',
      () => {
        fs.writeFileSync(path.join(tmp, 'c.json'), '[[1,2,3]]');
        return ['convert', zoo('fashion_mlp'), '--calib', path.join(tmp, 'c.json'), '-o', path.join(tmp, 'x.msl')];
      },
      /sample 0 has 3 values; the model input needs 784/,
    ],
    [
      'NaN weights',
      () => {
        const dir = path.join(tmp, 'nan');
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(zoo('fashion_mlp'), path.join(dir, 'model.json'));
        const w = fs.readFileSync(path.join(path.dirname(zoo('fashion_mlp')), 'weights.bin'));
        w.writeFloatLE(NaN, 400);
        fs.writeFileSync(path.join(dir, 'weights.bin'), w);
        return ['convert', path.join(dir, 'model.json'), '--calib', 'fashion-mnist', '-o', path.join(tmp, 'x.msl')];
      },
      /contains NaN or Inf/,
    ],
    [
      'a corrupt blob',
      () => {
        const b = fs.readFileSync(path.join(tmp, 'mlp.msl'));
        b[b.length >> 1] ^= 1;
        fs.writeFileSync(path.join(tmp, 'bad.msl'), b);
        return ['inspect', path.join(tmp, 'bad.msl')];
      },
      /CRC32 mismatch/,
    ],
    ['an unknown flag', () => ['inspect', '--bogus'], /Unknown option/],
  ];
  for (const [what, args, message] of badCases) {
    it(`${what}: one clear line, exit 2, no stack, no output file`, () => {
      fs.rmSync(path.join(tmp, 'x.msl'), { force: true });
      const r = run(...args());
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.ok(!fs.existsSync(path.join(tmp, 'x.msl')));
    });
  }
});
