// Fault-injected flashing: flashes two blobs alternately through a FaultRelay while the link drops,
// corrupts and delays bytes, goes dead for a while, or the board resets mid-upload. After every attempt
// the link is cleaned and the board must answer RUN with exactly the model it reports: the new one when
// the flash succeeded, the previous one when it failed. Anything else is a violation.

import { crc32 } from '../blob/crc32';
import { Rng } from '../util/rng';
import { DeviceClient } from './client';
import { type BoardEngine, Emulator } from './emulator';
import { FaultRelay, NO_FAULTS, type RelayStats } from './fault-relay';
import { SerialLink } from './link';

export const SCENARIOS = ['noise', 'cut', 'reset', 'delay', 'reset+noise', 'unplugged'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface CampaignOptions {
  engine: BoardEngine;
  flashes: number;
  seed: number;
  /** Two different blobs and, for each, its output on `probe`. */
  blobs: [Uint8Array, Uint8Array];
  probe: Int8Array;
  expected: [Int8Array, Int8Array];
  /** Every Nth flash the cable stays unplugged past the retry budget, so that flash must fail safely. */
  unpluggedEvery?: number;
  /** Take the scenarios in turn instead of at random: a short campaign then still meets every kind of fault. */
  inTurn?: boolean;
  onFlash?: (r: FlashRecord) => void;
}

export interface FlashRecord {
  index: number;
  scenario: Scenario;
  ok: boolean;
  retries: number;
  seconds: number;
  error?: string;
}

export interface CampaignReport {
  records: FlashRecord[];
  succeeded: number;
  /** Descriptions of every case where the board ran something other than its last committed model. */
  violations: string[];
  resets: number;
  /** What the relay did to the bytes. */
  relay: RelayStats;
}

/** Client timing for a pty: fast link, short device latency, so a lost answer costs ~0.3 s. */
const LATENCY_MS = 300;
const RETRIES = 8;

export async function runFaultCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const rng = new Rng(o.seed);
  const em = await Emulator.start({ engine: o.engine });
  const relay = await FaultRelay.start(em.path, rng);
  const link = await SerialLink.open(relay.path, { bytesPerSecond: 1e6, writeSlackMs: 1000 });
  const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: LATENCY_MS });
  const report: CampaignReport = { records: [], succeeded: 0, violations: [], resets: 0, relay: relay.stats };
  const crcs = o.blobs.map(crc32);
  try {
    await client.configure({ telemetry_ms: 0 });
    await client.flash(o.blobs[0]);
    let active = 0;
    for (let i = 0; i < o.flashes; i++) {
      const target = 1 - active;
      const blob = o.blobs[target];
      const unplugged = !!o.unpluggedEvery && i % o.unpluggedEvery === o.unpluggedEvery - 1;
      const faults = SCENARIOS.filter((s) => s !== 'unplugged');
      const scenario: Scenario = unplugged ? 'unplugged' : o.inTurn ? faults[i % faults.length] : rng.pick(faults);
      const start = relay.hostBytes;
      const during = () => start + rng.int(64, blob.length);
      if (scenario === 'noise' || scenario === 'reset+noise')
        relay.faults = { dropRate: 3e-5, corruptRate: 3e-5, maxDelayMs: 0 };
      if (scenario === 'delay') relay.faults = { dropRate: 2e-5, corruptRate: 0, maxDelayMs: 40 };
      if (scenario === 'cut') relay.at(during(), () => relay.cut(rng.int(100, 1500)));
      if (scenario === 'reset' || scenario === 'reset+noise') relay.at(during(), () => void em.reset());
      if (scenario === 'unplugged') relay.at(during(), () => relay.cut(60000));
      const t0 = Date.now();
      const rec: FlashRecord = { index: i, scenario, ok: false, retries: 0, seconds: 0 };
      try {
        const r = await client.flash(blob, { retries: RETRIES, commitTimeoutMs: 5000 });
        rec.ok = true;
        rec.retries = r.retries;
      } catch (e) {
        rec.error = (e as Error).message;
      }
      rec.seconds = (Date.now() - t0) / 1000;
      relay.faults = { ...NO_FAULTS };
      relay.clearTriggers();
      relay.reconnect();
      await new Promise((r) => setTimeout(r, 60)); // delayed bytes drain

      const info = await client.helloWithRetry();
      const runs = info.model ? crcs.indexOf(info.model.crc) : -1;
      const want = rec.ok ? target : active;
      if (runs !== want)
        report.violations.push(
          `flash ${i} (${scenario}, ${rec.ok ? 'ok' : 'failed'}): board reports model ${runs}, expected ${want}`,
        );
      else {
        const y = Int8Array.from((await client.run(o.probe)).y);
        if (Buffer.compare(Buffer.from(y.buffer), Buffer.from(o.expected[want].buffer)) !== 0)
          report.violations.push(`flash ${i} (${scenario}): RUN output differs from model ${want}`);
      }
      if (rec.ok) {
        active = target;
        report.succeeded++;
      }
      report.records.push(rec);
      o.onFlash?.(rec);
    }
    report.resets = em.resets;
    if (em.faults.length) report.violations.push(...em.faults.map((f) => `device fault: ${f}`));
    return report;
  } finally {
    await link.close();
    await relay.stop();
    await em.stop();
  }
}
