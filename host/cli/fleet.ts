// `morsel fleet serve|simulate|status|deploy|samples` and `morsel gateway`: the edge-to-server loop over
// MQTT (docs/fleet.md). Long-running commands stop cleanly on SIGINT/SIGTERM.

import * as fs from 'fs';
import * as path from 'path';
import * as mqtt from 'mqtt';
import { decodeModel } from '../blob/decode';
import { writeNpy } from '../data/npy';
import { SIM_ENGINES, type SimEngine } from '../fleet/board';
import { deploy, RolloutError } from '../fleet/deploy';
import { startGateway, stopGateway } from '../fleet/gateway';
import { FleetServer } from '../fleet/server';
import { Simulation } from '../fleet/simulate';
import { type FleetStatus, FleetStore } from '../fleet/store';
import { checkName, crcHex, DEFAULT_FLEET, serverTopic } from '../fleet/topics';
import { defaultKeyFile, readKeyFile, resolveKey } from '../serial/auth';
import { writeFileAtomic } from '../util/fs';
import type { Command } from './main';
import { UsageError } from './main';

const untilSignal = (seconds?: number) =>
  new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearTimeout(timer);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const timer = seconds ? setTimeout(stop, seconds * 1000) : undefined;
  });

function brokerOf(values: Record<string, unknown>, required: boolean): string | undefined {
  const b = values.broker as string | undefined;
  if (b === undefined) {
    if (required) throw new UsageError('missing --broker mqtt://host:port');
    return undefined;
  }
  if (!/^(mqtts?|wss?|tcp):\/\/[^/]+/.test(b))
    throw new UsageError(`--broker ${b}: expected a URL like mqtt://127.0.0.1:1883`);
  return b;
}

function fleetOf(values: Record<string, unknown>): string {
  try {
    return checkName('fleet', (values.fleet as string | undefined) ?? DEFAULT_FLEET);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function numberOf(flag: string, v: unknown, dflt: number, ok: (n: number) => boolean): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag} ${v}: out of range`);
  return n;
}

/**
 * The upload key (host/serial/auth.ts: --key FILE, else the default key file). Deploys need it; boards
 * without one refuse every deploy.
 */
function keyOf(values: Record<string, unknown>, required: boolean): Uint8Array | null {
  const file = values.key as string | undefined;
  if (required) return resolveKey({ keyFile: file });
  if (file) return readKeyFile(file);
  return fs.existsSync(defaultKeyFile()) ? readKeyFile(defaultKeyFile()) : null;
}

function readBlob(file: string): Uint8Array {
  const blob = new Uint8Array(fs.readFileSync(file));
  decodeModel(blob); // a blob the devices would refuse never leaves the host
  return blob;
}

const common = { broker: { type: 'string' }, fleet: { type: 'string' }, key: { type: 'string' } } as const;

const SUBCOMMANDS = {
  serve:
    'morsel fleet serve [--mqtt-port 1883] [--broker URL] [--db fleet.db] [--http PORT] [--fleet NAME] [--duration S]',
  simulate:
    'morsel fleet simulate --devices N --engine node|quickjs|lua|lua5.1|luajit[,…] --broker URL --model model.msl [--rate 2] [--telemetry-ms 1000] [--workers W] [--group sim] [--samples-below 0.5] [--drift D] [--key FILE] [--duration S]',
  status: 'morsel fleet status (--broker URL | --db FILE) [--fleet NAME] [--json]',
  deploy:
    'morsel fleet deploy model.msl --broker URL --to GROUP [--canary 10%] [--observe S] [--max-latency-ratio 1.5] [--max-error-rate 0.01] [--key FILE] [--json]',
  samples: 'morsel fleet samples --db FILE -o DIR   (hard samples as samples.npy + labels.txt)',
};

export const fleetCommand: Command = {
  summary: 'the fleet over MQTT: serve (broker, database, dashboard), simulate boards, status, deploy, samples',
  usage: Object.values(SUBCOMMANDS).join('\n       '),
  options: {
    ...common,
    'mqtt-port': { type: 'string' },
    db: { type: 'string' },
    http: { type: 'string' },
    duration: { type: 'string' },
    devices: { type: 'string' },
    engine: { type: 'string' },
    model: { type: 'string' },
    rate: { type: 'string' },
    'telemetry-ms': { type: 'string' },
    workers: { type: 'string' },
    group: { type: 'string' },
    'samples-below': { type: 'string' },
    drift: { type: 'string' },
    json: { type: 'boolean' },
    to: { type: 'string' },
    canary: { type: 'string' },
    observe: { type: 'string' },
    'max-latency-ratio': { type: 'string' },
    'max-error-rate': { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  async run({ values, positionals }) {
    const [sub, ...rest] = positionals;
    if (!sub || !(sub in SUBCOMMANDS)) throw new UsageError(`expected a subcommand\nusage: ${this.usage}`);
    const fleet = fleetOf(values);
    if (sub === 'serve') {
      const server = await FleetServer.start({
        fleet,
        dbFile: (values.db as string | undefined) ?? 'fleet.db',
        brokerUrl: brokerOf(values, false),
        mqttPort: numberOf('--mqtt-port', values['mqtt-port'], 1883, (n) => n >= 0 && n < 65536),
        httpPort:
          values.http === undefined ? undefined : numberOf('--http', values.http, 0, (n) => n >= 0 && n < 65536),
        log: (l) => console.error(l),
      });
      console.log(
        `fleet '${fleet}': broker ${server.brokerUrl}${server.httpPort !== null ? `, dashboard http://127.0.0.1:${server.httpPort}/` : ''}, database ${(values.db as string | undefined) ?? 'fleet.db'}`,
      );
      await untilSignal(values.duration === undefined ? undefined : Number(values.duration));
      await server.stop();
      return 0;
    }
    if (sub === 'simulate') {
      const devices = numberOf('--devices', values.devices, NaN, (n) => Number.isInteger(n) && n >= 1 && n <= 10000);
      if (Number.isNaN(devices)) throw new UsageError(`missing --devices N\nusage: ${SUBCOMMANDS.simulate}`);
      const engines = ((values.engine as string | undefined) ?? 'quickjs').split(',') as SimEngine[];
      for (const e of engines)
        if (!SIM_ENGINES.includes(e))
          throw new UsageError(`--engine ${e}: simulated boards run in ${SIM_ENGINES.join(', ')}`);
      if (typeof values.model !== 'string')
        throw new UsageError(`missing --model model.msl\nusage: ${SUBCOMMANDS.simulate}`);
      const sim = await Simulation.start({
        brokerUrl: brokerOf(values, true)!,
        fleet,
        devices,
        engines,
        factoryBlob: readBlob(values.model),
        key: keyOf(values, false),
        rate: numberOf('--rate', values.rate, 2, (n) => n >= 0 && n <= 1000),
        telemetryMs: numberOf('--telemetry-ms', values['telemetry-ms'], 1000, (n) => n >= 100),
        workers: values.workers === undefined ? undefined : numberOf('--workers', values.workers, 1, (n) => n >= 1),
        group: values.group === undefined ? undefined : checkName('group', values.group as string),
        sampleBelow: numberOf('--samples-below', values['samples-below'], 0, (n) => n >= 0 && n <= 1),
        drift: numberOf('--drift', values.drift, 0, (n) => n >= 0 && n <= 1),
      });
      console.log(`${devices} boards (${engines.join(', ')}) in ${sim.plan.length} workers on ${values.broker}`);
      await untilSignal(values.duration === undefined ? undefined : Number(values.duration));
      await sim.stop();
      return 0;
    }
    if (sub === 'status') {
      const status = values.db
        ? statusFromDb(values.db as string)
        : await statusOverMqtt(brokerOf(values, true)!, fleet);
      if (values.json) console.log(JSON.stringify(status, null, 2));
      else printStatus(status);
      return 0;
    }
    if (sub === 'deploy') {
      const [file] = rest;
      if (!file) throw new UsageError(`missing <model.msl>\nusage: ${SUBCOMMANDS.deploy}`);
      if (typeof values.to !== 'string')
        throw new UsageError(`missing --to GROUP (or --to all)\nusage: ${SUBCOMMANDS.deploy}`);
      const canary = values.canary === undefined ? 0.1 : parsePercent(values.canary as string);
      const report = await deploy({
        brokerUrl: brokerOf(values, true)!,
        fleet,
        group: values.to,
        blob: readBlob(file),
        key: keyOf(values, true)!,
        canary,
        observeMs: numberOf('--observe', values.observe, 5, (n) => n > 0) * 1000,
        maxLatencyRatio: numberOf('--max-latency-ratio', values['max-latency-ratio'], 1.5, (n) => n >= 1),
        maxErrorRate: numberOf('--max-error-rate', values['max-error-rate'], 0.01, (n) => n >= 0 && n <= 1),
        log: (l) => console.error(l),
      }).catch((e) => {
        if (e instanceof RolloutError) throw new UsageError(e.message);
        throw e;
      });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else
        console.log(
          `rollout of ${crcHex(report.crc)}: ${report.state}${report.reason ? ` (${report.reason})` : ''}; canaries ${report.canaries.join(', ')}; ${Object.keys(report.devices).length} devices in ${report.seconds.toFixed(1)} s`,
        );
      // A rolled-back model is a verdict on the input, not a failure of Morsel.
      return report.state === 'done' ? 0 : 2;
    }
    // samples
    if (typeof values.db !== 'string' || typeof values.output !== 'string')
      throw new UsageError(`missing --db or -o\nusage: ${SUBCOMMANDS.samples}`);
    const n = exportSamples(values.db, values.output);
    console.log(`${n} hard samples → ${path.join(values.output, 'samples.npy')} and labels.txt`);
    return 0;
  },
};

function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text);
  const p = m ? Number(m[1]) / 100 : NaN;
  if (!(p > 0 && p <= 1)) throw new UsageError(`--canary ${text}: expected a share like 10%`);
  return p;
}

function statusFromDb(file: string): FleetStatus {
  if (!fs.existsSync(file))
    throw new UsageError(`${file}: no such database (morsel fleet serve --db ${file} creates it)`);
  const store = new FleetStore(file, true);
  try {
    return store.status();
  } finally {
    store.close();
  }
}

/** Asks the running fleet server over the broker. */
async function statusOverMqtt(brokerUrl: string, fleet: string): Promise<FleetStatus> {
  const client = await mqtt
    .connectAsync(brokerUrl, { clean: true, connectTimeout: 5000, reconnectPeriod: 0 })
    .catch((e) => {
      throw new UsageError(`cannot reach the broker at ${brokerUrl}: ${(e as Error).message}`);
    });
  try {
    const reply = `morsel/${fleet}/$reply/${process.pid}-${Date.now()}`;
    await client.subscribeAsync(reply, { qos: 1 });
    const answer = new Promise<FleetStatus>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UsageError(`no fleet server for fleet '${fleet}' answered on ${brokerUrl} within 5 s`)),
        5000,
      );
      client.on('message', (topic, payload) => {
        if (topic !== reply) return;
        clearTimeout(timer);
        resolve(JSON.parse(payload.toString()));
      });
    });
    await client.publishAsync(serverTopic(fleet), JSON.stringify({ reply }), { qos: 1 });
    return await answer;
  } finally {
    await client.endAsync();
  }
}

function printStatus(s: FleetStatus): void {
  const f = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  console.log('device              group    engine   state    model     inferences  p95 ms  errors');
  for (const d of s.devices)
    console.log(
      `${d.id.padEnd(20)}${(d.group ?? '').padEnd(9)}${(d.engine ?? '').padEnd(9)}${(d.online ? 'online' : 'offline').padEnd(9)}${(d.model_crc === null ? '–' : crcHex(d.model_crc)).padEnd(10)}${String(d.inferences).padStart(10)}  ${f(d.latency_p95_ms).padStart(6)}  ${d.errors}`,
    );
  for (const m of s.models)
    console.log(
      `model ${crcHex(m.model_crc)}: ${m.devices} devices, ${m.inferences} inferences, p50/p95/p99 ${f(m.latency_p50_ms)}/${f(m.latency_p95_ms)}/${f(m.latency_p99_ms)} ms, mean confidence ${f(m.mean_confidence)}`,
    );
  console.log(
    `${s.telemetry.reports} reports (end-to-end p95 ${f(s.telemetry.lag_p95_ms)} ms), ${s.samples} hard samples, ${s.rejected} rejected`,
  );
}

/** Hard samples as a dataset: samples.npy [N, ...input] float32 and labels.txt (the device's guess, to correct). */
export function exportSamples(db: string, dir: string, sinceMs = 0): number {
  if (!fs.existsSync(db)) throw new UsageError(`${db}: no such database`);
  const store = new FleetStore(db, true);
  try {
    const all = store.samples(sinceMs);
    if (!all.length)
      throw new UsageError(`${db} holds no hard samples (simulate with --samples-below, or enable them on the boards)`);
    const size = all[0].data.length;
    const same = all.filter((s) => s.data.length === size);
    const flat = new Float32Array(same.length * size);
    same.forEach((s, i) => flat.set(s.data, i * size));
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(
      path.join(dir, 'samples.npy'),
      Buffer.from(writeNpy([same.length, ...all[0].shape.slice(1)], flat)),
    );
    writeFileAtomic(
      path.join(dir, 'labels.txt'),
      Buffer.from(
        `# one line per sample: predicted class, confidence, device, model (correct the class to label)\n${same.map((s) => `${s.pred}\t${s.confidence.toFixed(4)}\t${s.device}\t${crcHex(s.model_crc)}`).join('\n')}\n`,
      ),
    );
    return same.length;
  } finally {
    store.close();
  }
}

export const gatewayCommand: Command = {
  summary: 'bridge serial boards (USB) to an MQTT broker as fleet devices',
  usage:
    'morsel gateway --port P [--port P2 …] --broker URL [--fleet NAME] [--group NAME] [--baud 115200] [--duration S]',
  options: {
    // No --key: each board checks its deploys with the key its agent was installed with.
    broker: common.broker,
    fleet: common.fleet,
    port: { type: 'string', multiple: true },
    group: { type: 'string' },
    baud: { type: 'string' },
    duration: { type: 'string' },
  },
  async run({ values }) {
    const ports = (values.port as string[] | undefined) ?? [];
    if (!ports.length) throw new UsageError(`missing --port\nusage: ${this.usage}`);
    const boards = await startGateway({
      ports,
      brokerUrl: brokerOf(values, true)!,
      fleet: fleetOf(values),
      group: values.group === undefined ? 'gateway' : checkName('group', values.group as string),
      baud: numberOf('--baud', values.baud, 115200, (n) => n >= 300),
      log: (l) => console.error(l),
    });
    console.log(`bridging ${boards.map((b) => `${b.port} → ${b.id}`).join(', ')}`);
    await untilSignal(values.duration === undefined ? undefined : Number(values.duration));
    await stopGateway(boards);
    return 0;
  },
};
