// The fleet's learning loop, end to end (node dist/tools/fleet-drift.js): 20 simulated boards run the
// distilled Fashion-MNIST MLP; their inputs then drift (a camera losing gain: x → 0.3·x); the boards send their
// low-confidence inputs as hard samples; those re-normalise the model's input (host/fleet/adapt.ts) and
// calibrate its conversion; the new blob is rolled out with a canary; the fleet's mean top-1 confidence is
// printed before the drift, under it, and under it with the new model.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportSamples } from '../host/cli/fleet';
import { crc32 } from '../host/blob/crc32';
import { adaptToSamples } from '../host/fleet/adapt';
import { deploy } from '../host/fleet/deploy';
import { FleetServer } from '../host/fleet/server';
import { Simulation } from '../host/fleet/simulate';
import { generateKey } from '../host/serial/auth';

const ROOT = path.join(__dirname, '..', '..');
const MODEL = path.join(ROOT, 'models', 'fashion_mlp_compressed', 'distill');
const DRIFT = 0.7;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-fleet-drift-'));
  const key = generateKey();
  const server = await FleetServer.start({ fleet: 'drift', dbFile: path.join(tmp, 'fleet.db'), mqttPort: 0 });
  let sim: Simulation | null = null;
  try {
    const blob = new Uint8Array(fs.readFileSync(path.join(MODEL, 'model.msl')));
    sim = await Simulation.start({
      brokerUrl: server.brokerUrl,
      fleet: 'drift',
      devices: 20,
      engines: ['node'],
      workers: 2,
      factoryBlob: blob,
      key,
      rate: 5,
      telemetryMs: 500,
      sampleBelow: 0.6,
      samplesPerMinute: 60,
    });
    const confidence = async (crc: number, ms: number) => {
      const since = Date.now();
      await sleep(ms);
      return server.store.status(since).models.find((m) => m.model_crc === crc)?.mean_confidence ?? NaN;
    };
    await sleep(2000);
    const before = await confidence(crc32(blob), 8000);
    sim.setDrift(DRIFT);
    await sleep(1000);
    const driftSince = Date.now();
    const drifted = await confidence(crc32(blob), 12000);
    const hard = path.join(tmp, 'hard');
    server.store.flush();
    const n = exportSamples(path.join(tmp, 'fleet.db'), hard, driftSince);
    const {
      a,
      b,
      modelJson: adapted,
    } = adaptToSamples(path.join(hard, 'samples.npy'), path.join(MODEL, 'model.json'), path.join(tmp, 'adapted'));
    const out = path.join(tmp, 'adapted.msl');
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'bin', 'morsel.js'), 'convert', adapted, '--calib', path.join(hard, 'samples.npy'), '-o', out],
      {
        stdio: 'ignore',
      },
    );
    const next = new Uint8Array(fs.readFileSync(out));
    const r = await deploy({
      brokerUrl: server.brokerUrl,
      fleet: 'drift',
      group: 'sim',
      blob: next,
      key,
      canary: 0.1,
      observeMs: 3000,
    });
    await sleep(3500); // boards stay quiet for 3 s after an upload
    const after = await confidence(crc32(next), 12000);
    console.log(
      [
        `fleet drift loop (20 boards, node, ${path.relative(ROOT, MODEL)}; mean top-1 confidence from the fleet's telemetry, ±0.05 bins):`,
        `  before the drift:                 ${before.toFixed(3)}`,
        `  inputs drifted (0.3·x):           ${drifted.toFixed(3)}; ${n} hard samples (confidence < 0.6) stored and exported`,
        `  fitted input map x = ${a.toFixed(3)}·x' ${b < 0 ? '−' : '+'} ${Math.abs(b).toFixed(3)} (exact inverse: 3.333·x'), folded into fc1, converted with the hard samples as calibration`,
        `  rollout: ${r.state}${r.reason ? ` (${r.reason})` : ''}, canaries ${r.canaries.join(', ')}`,
        `  drifted inputs, new model:        ${after.toFixed(3)}`,
      ].join('\n'),
    );
  } finally {
    await sim?.stop();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
