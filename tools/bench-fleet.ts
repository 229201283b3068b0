// npm run bench:fleet — the fleet at scale on this machine: Mosquitto (Debian), the fleet server as its own
// process (`morsel fleet serve --broker`), N simulated boards (default 500, node engine, a few worker
// processes) and a rollout of the 53 KB zoo CNN to all of them. Reports the telemetry messages/s the server
// stored against what the boards offered, the end-to-end telemetry delay p95, the server's memory, the boot
// and rollout times. Options: --devices N, --telemetry-ms MS, --seconds S (measurement window), --workers W.

import { type ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as mqtt from 'mqtt';
import { crc32 } from '../host/blob/crc32';
import { generateKey } from '../host/serial/auth';
import { deploy } from '../host/fleet/deploy';
import { Simulation } from '../host/fleet/simulate';
import { FleetStore } from '../host/fleet/store';
import { blobTopic } from '../host/fleet/topics';

const ROOT = path.join(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(250);
  }
}

/** Resident and peak resident memory of a process, from /proc. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '500' },
      'telemetry-ms': { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '20' },
      workers: { type: 'string', default: String(Math.max(2, os.cpus().length)) },
      rate: { type: 'string', default: '0.1' },
    },
  });
  const devices = Number(values.devices);
  const telemetryMs = Number(values['telemetry-ms']);
  const seconds = Number(values.seconds);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-bench-fleet-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(tmp, 'mosquitto.conf'),
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\n`,
  );
  const procs: ChildProcess[] = [];
  let sim: Simulation | null = null;
  try {
    const broker = spawn('/usr/sbin/mosquitto', ['-c', path.join(tmp, 'mosquitto.conf')], { stdio: 'inherit' });
    procs.push(broker);
    const url = `mqtt://127.0.0.1:${port}`;
    await sleep(300);
    const db = path.join(tmp, 'fleet.db');
    const server = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'morsel.js'), 'fleet', 'serve', '--broker', url, '--db', db, '--fleet', 'bench'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    procs.push(server);
    await waitFor('the fleet server database', () => fs.existsSync(db), 30_000);
    const factory = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_mlp_compressed/distill/model.msl')));
    const update = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_cnn/model.msl')));
    const key = generateKey();
    const c = await mqtt.connectAsync(url);
    await c.publishAsync(blobTopic('bench', crc32(factory)), Buffer.from(factory), { qos: 1, retain: true });
    await c.endAsync();
    let t0 = Date.now();
    sim = await Simulation.start({
      brokerUrl: url,
      fleet: 'bench',
      devices,
      engines: ['node'],
      workers: Number(values.workers),
      factoryBlob: factory,
      key,
      rate: Number(values.rate),
      telemetryMs,
    });
    const bootS = (Date.now() - t0) / 1000;
    const store = new FleetStore(db, true);
    const count = () => (store.db.prepare('SELECT COUNT(*) AS n FROM telemetry').get() as { n: number }).n;
    const online = () =>
      (store.db.prepare('SELECT COUNT(*) AS n FROM devices WHERE online = 1').get() as { n: number }).n;
    const rejected = () => (store.db.prepare('SELECT COUNT(*) AS n FROM rejects').get() as { n: number }).n;
    await waitFor('every board online at the server', () => online() === devices, 300_000);
    await sleep(3000);
    const n0 = count();
    t0 = Date.now();
    const since = Date.now();
    await sleep(seconds * 1000);
    const stored = count() - n0;
    const windowS = (Date.now() - t0) / 1000;
    const lags = (
      store.db.prepare('SELECT lag_ms FROM telemetry WHERE received_ms >= ?').all(since) as { lag_ms: number }[]
    )
      .map((r) => r.lag_ms)
      .sort((a, b) => a - b);
    const mem = memoryOf(server.pid!);
    // Each figure is printed when it is measured: a rollout cut short still leaves the telemetry figures.
    console.log(
      `fleet bench: ${devices} simulated boards (node engine, ${sim.plan.length} workers), Mosquitto, fleet server as its own process, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the start`,
    );
    console.log(`boot (factory model ${factory.length} B loaded on every board, all connected): ${bootS.toFixed(1)} s`);
    console.log(
      `telemetry: offered ${((devices * 1000) / telemetryMs).toFixed(0)} msg/s, stored ${(stored / windowS).toFixed(0)} msg/s over ${windowS.toFixed(0)} s; end-to-end delay p50 ${lags[Math.floor(lags.length / 2)]?.toFixed(0)} ms, p95 ${lags[Math.floor(lags.length * 0.95)]?.toFixed(0)} ms; ${rejected()} reports refused`,
    );
    console.log(`server memory: ${mem.rssMb.toFixed(0)} MB resident (peak ${mem.peakMb.toFixed(0)} MB)`);
    t0 = Date.now();
    const report = await deploy({
      brokerUrl: url,
      fleet: 'bench',
      group: 'sim',
      blob: update,
      key,
      canary: 0.02,
      observeMs: 5000,
      // The CNN is far slower than the factory MLP (its canaries' median was 225× on an idle machine) by design of
      // this bench: it measures the upload, not the verdict.
      maxLatencyRatio: 10_000,
      concurrency: 64,
      deviceTimeoutMs: 600_000,
      log: (line) => console.error(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${line}`),
    });
    const rolloutS = (Date.now() - t0) / 1000;
    const onNew = (
      store.db.prepare('SELECT COUNT(*) AS n FROM devices WHERE model_crc = ?').get(crc32(update)) as { n: number }
    ).n;
    const memAfter = memoryOf(server.pid!);
    store.close();
    console.log(
      `rollout of ${update.length} B (fashion_cnn) to all ${devices}, 2% canary + 5 s observation: ${report.state} in ${rolloutS.toFixed(1)} s (${onNew}/${devices} boards report the new model); server peak ${memAfter.peakMb.toFixed(0)} MB resident`,
    );
  } finally {
    await sim?.stop();
    for (const p of procs.reverse()) {
      if (p.exitCode !== null) continue;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
