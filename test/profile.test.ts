// Per-layer times below a millisecond (`morsel run --profile --repeat N`): the host int8 reference's median over N
// runs after a warm-up, and an engine's mean over N inferences after a warm-up, one figure per op in µs.

import { strict as assert } from 'assert';
import * as path from 'path';
import { UsageError } from '../host/cli/main';
import { runCommand } from '../host/cli/run';

const CNN = path.join(__dirname, '..', '..', 'models', 'fashion_cnn', 'model.msl');

/** `morsel run CNN --input idx:3 --engine E --repeat 5 --json`, in process: its JSON. */
async function profile(engine: string): Promise<{ output: number[]; layers: { op: string; us: number }[] }> {
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    const values = { input: 'idx:3', engine, repeat: '5', json: true };
    assert.equal(await runCommand.run({ values, positionals: [CNN] }), 0);
  } finally {
    console.log = log;
  }
  return JSON.parse(printed.join('\n'));
}

describe('morsel run --profile --repeat: per-layer times in µs', function () {
  this.timeout(60000);

  it('the host and the engines time every op, below a millisecond where an op takes less, with the same output', async () => {
    const host = await profile('host');
    for (const engine of ['host', 'node', 'lua']) {
      const r = engine === 'host' ? host : await profile(engine);
      assert.deepEqual(r.output, host.output, engine);
      assert.equal(r.layers.length, 8, engine);
      for (const l of r.layers) assert.ok(Number.isFinite(l.us) && l.us > 0, `${engine} ${l.op}: ${l.us} µs`);
      // The flatten copies 800 bytes or none: far below a millisecond on any of these, and still measured.
      const reshape = r.layers.find((l) => l.op === 'RESHAPE')!;
      assert.ok(reshape.us < 1000, `${engine}: RESHAPE ${reshape.us} µs`);
    }
  });

  it('--repeat needs a positive count', async () => {
    await assert.rejects(
      runCommand.run({ values: { input: 'idx:0', repeat: '0' }, positionals: [CNN] }),
      (e: Error) => e instanceof UsageError && /--repeat must be a positive integer/.test(e.message),
    );
  });
});
