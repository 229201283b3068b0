// Fault injection between host and emulated board: dropped, corrupted and delayed bytes, a cut cable and
// board resets mid-flash. MORSEL_FAULT_FLASHES sets the count (40 here; tools/fault-soak.ts runs 200).

import { strict as assert } from 'assert';
import { runFaultCampaign, SCENARIOS } from '../host/serial/fault-campaign';
import { ensureAgentBundle, referenceOutput, zooBlob } from './serial-fixtures';

const FLASHES = Number(process.env.MORSEL_FAULT_FLASHES ?? 40);
/** The NodeMCU (Lua) boards run the same campaign, shorter (one board per Lua version, scenarios in turn). */
const LUA_FLASHES = Number(process.env.MORSEL_FAULT_FLASHES_LUA ?? 6);

describe('fault-injected flashing through a relay', function () {
  this.timeout(600000);
  before(ensureAgentBundle);

  for (const [engine, flashes] of [
    ['node', FLASHES],
    ['lua5.1', LUA_FLASHES],
    ['lua', LUA_FLASHES],
  ] as const) {
    it(`${engine}: ${flashes} flashes: never a partial or corrupt model, the old one answers after each failure, ≥ 95% recover`, async () => {
      const blobs: [Uint8Array, Uint8Array] = [zooBlob('fashion_cnn'), zooBlob('fashion_mlp')];
      const probe = new Int8Array(784).map((_, i) => ((i * 29) % 256) - 128);
      const expected = blobs.map((b) => referenceOutput(b, probe)) as [Int8Array, Int8Array];
      const r = await runFaultCampaign({
        engine,
        flashes,
        seed: 2026,
        blobs,
        probe,
        expected,
        unpluggedEvery: flashes,
        inTurn: engine !== 'node',
      });
      const by = (s: string) => r.records.filter((x) => x.scenario === s);
      const s = r.relay;
      console.log(
        `      ${r.succeeded}/${flashes} recovered, ${r.resets} board resets, bytes dropped ${s.dropped}, corrupted ${s.corrupted}, lost to cuts ${s.cutBytes}; ` +
          SCENARIOS.map((s) => `${s} ${by(s).filter((x) => x.ok).length}/${by(s).length}`).join(', '),
      );
      for (const x of r.records.filter((x) => !x.ok))
        console.log(`      flash ${x.index} (${x.scenario}) failed: ${x.error}`);
      assert.deepEqual(r.violations, []);
      // The one flash whose cable stays unplugged must fail; every other one must recover.
      assert.ok(r.succeeded >= Math.min(0.95 * flashes, flashes - 1), `${r.succeeded}/${flashes}`);
      assert.ok(r.resets > 0 && s.dropped > 0 && s.corrupted > 0 && s.cutBytes > 0, 'every kind of fault happened');
      for (const u of by('unplugged')) assert.equal(u.ok, false, 'a cable unplugged for good cannot succeed');
    });
  }
});
