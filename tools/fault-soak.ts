// Fault-injection soak: N flashes (default 200) through the fault relay onto an emulated board, alternating
// the zoo CNN and MLP, with dropped/corrupted/delayed bytes, cut links and resets mid-flash.
//   npx tsx tools/fault-soak.ts [--flashes 200] [--engine node|quickjs] [--seed 1]
// Exits non-zero if the board ever ran a partial or corrupt model or fewer than 95% of flashes recovered.

import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { decodeModel } from '../host/blob/decode';
import { runInt8 } from '../host/interp/int8/interpreter';
import { EMULATED_ENGINES, type EmulatedEngine } from '../host/serial/device-engine';
import { runFaultCampaign, SCENARIOS } from '../host/serial/fault-campaign';
import { buildAgent } from './build-agent';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      flashes: { type: 'string', default: '200' },
      engine: { type: 'string', default: 'node' },
      seed: { type: 'string', default: '1' },
    },
  });
  const engine = values.engine as EmulatedEngine;
  if (!EMULATED_ENGINES.includes(engine)) throw new Error(`--engine must be one of ${EMULATED_ENGINES.join(', ')}`);
  const flashes = Number(values.flashes);
  buildAgent();
  let root = __dirname;
  while (!fs.existsSync(path.join(root, 'package.json'))) root = path.dirname(root);
  const blobs = ['fashion_cnn', 'fashion_mlp'].map(
    (m) => new Uint8Array(fs.readFileSync(path.join(root, 'models', m, 'model.msl'))),
  ) as [Uint8Array, Uint8Array];
  const probe = new Int8Array(784).map((_, i) => ((i * 29) % 256) - 128);
  const expected = blobs.map((b) => runInt8(decodeModel(b), [probe])[0]) as [Int8Array, Int8Array];
  const t0 = Date.now();
  const r = await runFaultCampaign({
    engine,
    flashes,
    seed: Number(values.seed),
    blobs,
    probe,
    expected,
    unpluggedEvery: 50,
    onFlash: (x) =>
      console.log(
        `${String(x.index).padStart(4)} ${x.scenario.padEnd(12)} ${x.ok ? 'ok    ' : 'FAILED'} ${x.seconds.toFixed(2)} s, ${x.retries} retries${x.error ? ` (${x.error})` : ''}`,
      ),
  });
  const by = (s: string) => r.records.filter((x) => x.scenario === s);
  console.log(
    `\n${r.succeeded}/${flashes} flashes recovered (${((100 * r.succeeded) / flashes).toFixed(1)}%), ${r.resets} board resets, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  console.log(
    `relay: ${r.relay.dropped} bytes dropped, ${r.relay.corrupted} corrupted, ${r.relay.cutBytes} lost to cuts, ${r.relay.forwarded} forwarded`,
  );
  console.log(SCENARIOS.map((s) => `${s}: ${by(s).filter((x) => x.ok).length}/${by(s).length}`).join(', '));
  console.log(`violations (board running anything but its last committed model): ${r.violations.length}`);
  for (const v of r.violations) console.log(`  ${v}`);
  return r.violations.length === 0 && r.succeeded >= 0.95 * flashes ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
