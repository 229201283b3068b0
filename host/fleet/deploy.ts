// `morsel fleet deploy`: a staged, signed rollout over the broker. The blob goes to a canary share of the
// group first, through the serial protocol's authenticated resumable upload (DeviceClient over MqttLink: the
// PUT_BEGIN and COMMIT tags are bound to the board's id and current nonce, and its agent checks them); the canaries' telemetry on the new model is then compared with their own telemetry on the
// old one. Within bounds the rollout continues to everyone; otherwise, or when the blob does not load on a
// canary, the canaries that took it get their old model back (the agent never drops a working model, so a
// device that refused the blob is already back). Devices that drop off mid-upload are retried when they
// return and resume where their flash left off.

import * as mqtt from 'mqtt';
import { crc32 } from '../blob/crc32';
import { AuthMismatchError, DeviceClient, DeviceError } from '../serial/client';
import { MqttLink } from './mqtt-link';
import { percentile } from './store';
import {
  blobTopic,
  crcHex,
  type FleetInfo,
  type FleetTelemetry,
  fleetTopic,
  parseDeviceTopic,
  rolloutTopic,
} from './topics';

export interface DeployOptions {
  brokerUrl: string;
  fleet: string;
  group: string;
  blob: Uint8Array;
  key: Uint8Array;
  /** Share of the group that gets the blob first, in (0, 1]; 1 skips the canary stage. */
  canary: number;
  /** How long the canaries run the new model before the decision. */
  observeMs?: number;
  /** Bounds: canary median latency at most this times the control's (same engine), run errors at most this share. */
  maxLatencyRatio?: number;
  maxErrorRate?: number;
  /** Parallel uploads. */
  concurrency?: number;
  /** How long a device that went offline may take to come back. */
  deviceTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RolloutReport {
  crc: number;
  state: 'done' | 'rolled-back' | 'incomplete';
  reason: string;
  canaries: string[];
  devices: Record<string, { from: number | null; to: number | null; state: string }>;
  seconds: number;
  canaryLatencyRatio: number | null;
  canaryErrorRate: number | null;
}

export class RolloutError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Observed {
  crc: number | null;
  latency: number[];
  inferences: number;
  runErrors: number;
}

export async function deploy(o: DeployOptions): Promise<RolloutReport> {
  const start = Date.now();
  const log = o.log ?? (() => undefined);
  const crc = crc32(o.blob);
  const client = await mqtt.connectAsync(o.brokerUrl, { clean: true, reconnectPeriod: 1000 });
  client.setMaxListeners(0); // one listener per device link while uploads run in parallel
  const infos = new Map<string, FleetInfo>();
  const online = new Map<string, boolean>();
  const blobs = new Map<number, Buffer>();
  // Telemetry per device and model since `observing` was reset.
  let observed = new Map<string, Observed[]>();
  client.on('message', (topic, payload) => {
    if (topic.startsWith(`morsel/${o.fleet}/$blob/`))
      return void (payload.length && blobs.set(crc32(payload), payload));
    const t = parseDeviceTopic(topic);
    if (!t || !payload.length) return;
    try {
      if (t.topic === 'info') infos.set(t.device, JSON.parse(payload.toString()));
      else if (t.topic === 'status') online.set(t.device, payload.toString() === 'online');
      else if (t.topic === 'telemetry') {
        const m = JSON.parse(payload.toString()) as FleetTelemetry;
        const list = observed.get(t.device) ?? [];
        list.push({
          crc: m.model_crc,
          latency: m.latency_us,
          inferences: m.latency_us.length,
          runErrors: m.run_errors,
        });
        observed.set(t.device, list);
      }
    } catch {
      // A malformed report is the server's to record; the rollout decides on the well-formed ones.
    }
  });
  const report: RolloutReport = {
    crc,
    state: 'incomplete',
    reason: '',
    canaries: [],
    devices: {},
    seconds: 0,
    canaryLatencyRatio: null,
    canaryErrorRate: null,
  };
  const publishState = () =>
    client.publish(rolloutTopic(o.fleet), JSON.stringify({ ...report, seconds: (Date.now() - start) / 1000 }), {
      qos: 1,
      retain: true,
    });
  try {
    await client.subscribeAsync(
      [fleetTopic(o.fleet, 'info'), fleetTopic(o.fleet, 'status'), `morsel/${o.fleet}/$blob/+`],
      { qos: 1 },
    );
    await quiet(() => infos.size + online.size + blobs.size, 300, 3000);
    const members = [...infos.values()]
      .filter((i) => o.group === 'all' || i.group === o.group)
      .map((i) => i.id)
      .sort();
    if (!members.length) throw new RolloutError(`no device in group '${o.group}' of fleet '${o.fleet}'`);
    // The new image is kept on the broker too: a later rollout can roll back to it.
    await client.publishAsync(blobTopic(o.fleet, crc), Buffer.from(o.blob), { qos: 1, retain: true });
    blobs.set(crc, Buffer.from(o.blob));
    for (const id of members)
      report.devices[id] = { from: infos.get(id)?.model?.crc ?? null, to: null, state: 'waiting' };
    const nCanary = o.canary >= 1 ? members.length : Math.max(1, Math.ceil(o.canary * members.length));
    // Canaries: online devices first, spread over the group's engines.
    const ordered = [...members].sort((a, b) => Number(online.get(b) ?? false) - Number(online.get(a) ?? false));
    report.canaries = spread(ordered, nCanary, (id) => infos.get(id)?.engine ?? '');
    const rest = members.filter((id) => !report.canaries.includes(id));
    await client.subscribeAsync(fleetTopic(o.fleet, 'telemetry'), { qos: 0 });
    const observeMs = o.observeMs ?? 5000;

    const flashAll = async (ids: string[], blob: Uint8Array, what: string) => {
      const queue = [...ids];
      const failures: { id: string; error: Error }[] = [];
      const worker = async () => {
        for (let id = queue.shift(); id; id = queue.shift()) {
          try {
            await flashOne(client, o, id, blob, () => online.get(id) === true);
            report.devices[id].to = crc32(blob);
            report.devices[id].state = what;
          } catch (e) {
            report.devices[id].state = `failed: ${(e as Error).message}`;
            failures.push({ id, error: e as Error });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 32, ids.length) }, worker));
      return failures;
    };

    log(`canary: ${report.canaries.join(', ')}`);
    publishState();
    const canaryFailures = await flashAll(report.canaries, o.blob, 'canary');
    const loadFailure = canaryFailures.find((f) => f.error instanceof DeviceError && f.error.code === 'VERIFY');
    let reason = '';
    if (loadFailure) reason = `the blob does not load on ${loadFailure.id}: ${loadFailure.error.message}`;
    else if (canaryFailures.length)
      reason = `canary ${canaryFailures[0].id} failed: ${canaryFailures[0].error.message}`;
    else if (rest.length) {
      // The rest of the group is the control: same machine, same moment, the old model.
      observed = new Map();
      log(`canary: observing for ${observeMs} ms against ${rest.length} devices on their old model`);
      await sleep(observeMs);
      // A board stays quiet for 3 s after an upload (docs/protocol.md); wait for every canary's first report.
      const reported = () => report.canaries.every((id) => (observed.get(id) ?? []).some((r) => r.crc === crc));
      for (let waited = 0; !reported() && waited < 10_000; waited += 200) await sleep(200);
      const verdict = judge(report.canaries, rest, observed, crc, (id) => infos.get(id)?.engine ?? '', o);
      report.canaryLatencyRatio = verdict.ratio;
      report.canaryErrorRate = verdict.errorRate;
      reason = verdict.reason;
    }
    if (reason) {
      report.reason = reason;
      log(`rolling back: ${reason}`);
      const committed = report.canaries.filter((id) => report.devices[id].to === crc);
      const byOld = new Map<number, string[]>();
      for (const id of committed) {
        const from = report.devices[id].from;
        if (from === null) continue;
        byOld.set(from, [...(byOld.get(from) ?? []), id]);
      }
      for (const [old, ids] of byOld) {
        const image = blobs.get(old);
        if (!image) throw new Error(`no image of model ${crcHex(old)} on the broker to roll ${ids.join(', ')} back to`);
        const failed = await flashAll(ids, image, 'rolled back');
        if (failed.length)
          throw new Error(`rollback of ${failed.map((f) => f.id).join(', ')} failed: ${failed[0].error.message}`);
      }
      for (const id of report.canaries)
        if (report.devices[id].state.startsWith('failed')) report.devices[id].state = 'kept old model';
      report.state = 'rolled-back';
      return report;
    }
    log(`advancing to ${rest.length} more devices`);
    publishState();
    const failed = await flashAll(rest, o.blob, 'done');
    report.state = failed.length ? 'incomplete' : 'done';
    report.reason = failed.length ? `${failed.length} devices did not take the blob` : '';
    return report;
  } finally {
    report.seconds = (Date.now() - start) / 1000;
    publishState();
    await client.endAsync();
  }
}

/** Picks n ids, taking engines in turn so every kind of board is among the canaries. */
function spread(ids: string[], n: number, kind: (id: string) => string): string[] {
  const groups = new Map<string, string[]>();
  for (const id of ids) groups.set(kind(id), [...(groups.get(kind(id)) ?? []), id]);
  const out: string[] = [];
  while (out.length < n) for (const g of groups.values()) if (g.length && out.length < n) out.push(g.shift()!);
  return out.sort();
}

/**
 * The canaries' verdict: their run error rate on the new model, and per engine the ratio of the canaries'
 * median latency to the control devices' median over the same window (medians: a loaded 2-core host puts
 * scheduler spikes into any p95 of a few dozen samples; the latency ratio shows up in the median).
 */
export function judge(
  canaries: string[],
  control: string[],
  seen: Map<string, Observed[]>,
  crc: number,
  engineOf: (id: string) => string,
  o: DeployOptions,
): { ratio: number | null; errorRate: number | null; reason: string } {
  const samples = (ids: string[], keep: (r: Observed) => boolean) => {
    const byEngine = new Map<string, number[]>();
    for (const id of ids)
      for (const r of (seen.get(id) ?? []).filter(keep))
        byEngine.set(engineOf(id), [...(byEngine.get(engineOf(id)) ?? []), ...r.latency]);
    return byEngine;
  };
  const fresh = (id: string) => (seen.get(id) ?? []).filter((r) => r.crc === crc);
  const runs = canaries.reduce((n, id) => n + fresh(id).reduce((k, r) => k + r.inferences, 0), 0);
  const errors = canaries.reduce((n, id) => n + fresh(id).reduce((k, r) => k + r.runErrors, 0), 0);
  if (!runs && !errors)
    return { ratio: null, errorRate: null, reason: 'the canaries sent no telemetry on the new model' };
  const mine = samples(canaries, (r) => r.crc === crc);
  const theirs = samples(control, (r) => r.crc !== crc);
  const median = (v: number[]) =>
    percentile(
      [...v].sort((a, b) => a - b),
      0.5,
    );
  const ratios: number[] = [];
  for (const [engine, v] of mine) {
    const [a, b] = [median(v), median(theirs.get(engine) ?? [])];
    if (a !== null && b !== null && b > 0) ratios.push(a / b);
  }
  const errorRate = errors / (runs + errors);
  // The smallest engine's ratio: a slower model is slower on every engine, a scheduler spike on a loaded host
  // hits one engine's handful of samples.
  const ratio = ratios.length ? Math.min(...ratios) : null;
  const maxRatio = o.maxLatencyRatio ?? 1.5;
  const maxErr = o.maxErrorRate ?? 0.01;
  if (errorRate > maxErr)
    return { ratio, errorRate, reason: `canary run errors ${(errorRate * 100).toFixed(1)}% > ${maxErr * 100}%` };
  if (ratio !== null && ratio > maxRatio)
    return {
      ratio,
      errorRate,
      reason: `canary median latency ${ratio.toFixed(2)}× the old model's (bound ${maxRatio}×)`,
    };
  return { ratio, errorRate, reason: '' };
}

/** Resolves once count() has not changed for quietMs (retained messages have arrived), or after maxMs. */
async function quiet(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let last = -1;
  while (Date.now() < end) {
    const n = count();
    if (n === last && n > 0) return;
    last = n;
    await sleep(quietMs);
  }
}

/**
 * Uploads and commits one blob on one device with tags made for the board's current nonce (DeviceClient asks
 * the board for it on every attempt), retrying and resuming the upload while the device is away, up to
 * deviceTimeoutMs. A blob that does not load (VERIFY) is final, and so is an upload the board's agent refused
 * three times for its tag (a wrong key; once may be a nonce that changed on the way).
 */
async function flashOne(
  client: mqtt.MqttClient,
  o: DeployOptions,
  id: string,
  blob: Uint8Array,
  isOnline: () => boolean,
): Promise<void> {
  const deadline = Date.now() + (o.deviceTimeoutMs ?? 60_000);
  const link = await MqttLink.open(client, o.fleet, id);
  let refused = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        while (!isOnline()) {
          if (Date.now() > deadline) throw new Error(`${id} stayed offline`);
          await sleep(200);
        }
        const dev = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 3000 });
        await dev.flash(blob, { retries: 4, commitTimeoutMs: 20_000, key: o.key });
        return;
      } catch (e) {
        if (e instanceof DeviceError && e.code === 'VERIFY' && e.message.includes('LOAD:')) throw e;
        if (e instanceof AuthMismatchError) throw e; // a board without a key takes no signed deploy
        if (e instanceof DeviceError && e.code === 'AUTH' && ++refused >= 3) throw e;
        if (Date.now() > deadline) throw e;
        await sleep(Math.min(2000, 200 * attempt));
      }
    }
  } finally {
    await link.close();
  }
}
