// --batch (issue 15): torch exports at batch 3, one with a fixed batch and one with a symbolic (dynamic_axes) batch,
// compile for batch 1 through `morsel convert --batch 1` (a one-line notice only where a fixed batch was rewritten;
// the Flatten that spells out the batch re-inferred), calibrate on torch's own batch-3 tensor, and `morsel run` on
// each of its samples answers within 5% of torch's output range. Any other --batch is refused with exit code 2.
// Fixtures: test/fixtures/ops/make_ops_models.py.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeNpy } from '../host/data/npy';
import { cli, fixtureNpy, OPS_FIXTURES } from './helpers/ops-fixtures';

const FIX = OPS_FIXTURES;

describe('--batch: torch models exported at batch 3 compile for batch 1', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-batch-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const [name, notice] of [
    ['batch3_fixed', true],
    ['batch3_symbolic', false],
  ] as const) {
    it(`${name}: convert --batch 1 ${notice ? 'with' : 'without'} a notice, run on each sample within 5% of torch`, async () => {
      const input = path.join(FIX, `${name}.input.npy`);
      const [x, want] = [fixtureNpy(`${name}.input.npy`), fixtureNpy(`${name}.output.npy`)];
      assert.equal(x.shape[0], 3);
      const blob = path.join(tmp, `${name}.msl`);
      const converted = await cli(
        'convert',
        path.join(FIX, `${name}.onnx`),
        '--calib',
        input,
        '--batch',
        '1',
        '-o',
        blob,
      );
      assert.equal(converted.code, 0, converted.err);
      const notices = converted.err.split('\n').filter((l) => l.startsWith('notice:'));
      assert.deepEqual(notices, notice ? ["notice: input 'x' has batch size 3: compiled for batch 1"] : []);
      const [per, outs] = [x.data.length / 3, want.data.length / 3];
      const range = Math.max(...want.data) - Math.min(...want.data);
      for (let b = 0; b < 3; b++) {
        const sample = path.join(tmp, `${name}-${b}.npy`);
        fs.writeFileSync(sample, writeNpy([1, ...x.shape.slice(1)], x.data.slice(b * per, (b + 1) * per)));
        const run = await cli('run', blob, '--input', sample, '--json');
        assert.equal(run.code, 0, run.err);
        const got: number[] = JSON.parse(run.out).dequantized;
        const worst = Math.max(...got.map((v, k) => Math.abs(v - want.data[b * outs + k])));
        assert.ok(got.length === outs && worst <= 0.05 * range, `${name} sample ${b}: ${worst} of range ${range}`);
      }
    });
  }

  it('refuses any other --batch with one line and exit code 2, writing nothing', async () => {
    const blob = path.join(tmp, 'refused.msl');
    for (const batch of ['3', '0']) {
      const r = await cli('convert', path.join(FIX, 'batch3_fixed.onnx'), '--batch', batch, '-o', blob);
      assert.equal(r.code, 2);
      assert.match(r.err, /--batch/);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
    assert.ok(!fs.existsSync(blob));
  });
});
