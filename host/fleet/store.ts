// The fleet server's database (better-sqlite3, WAL): devices, every telemetry report, hard samples, rollouts,
// and every payload it could not accept (kept whole, with the reason). Aggregates per device and per model
// version are computed from the reports on demand.

import Database from 'better-sqlite3';
import type { FleetInfo, FleetTelemetry } from './topics';
import { CONF_BINS } from './topics';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, grp TEXT, engine TEXT, transport TEXT, online INTEGER NOT NULL DEFAULT 0,
  model_crc INTEGER, info TEXT, first_seen_ms INTEGER, last_seen_ms INTEGER);
CREATE TABLE IF NOT EXISTS telemetry (
  id INTEGER PRIMARY KEY, device TEXT NOT NULL, model_crc INTEGER, received_ms INTEGER NOT NULL, lag_ms REAL,
  n INTEGER, ips REAL, free INTEGER, err_frame INTEGER, err_run INTEGER, err_commit INTEGER, err_boot INTEGER,
  app_n INTEGER, run_errors INTEGER, latency TEXT, classes TEXT, confidence TEXT);
CREATE INDEX IF NOT EXISTS telemetry_device ON telemetry (device, model_crc);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY, device TEXT NOT NULL, model_crc INTEGER, received_ms INTEGER NOT NULL, pred INTEGER,
  confidence REAL, shape TEXT, data BLOB);
CREATE TABLE IF NOT EXISTS rejects (
  id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, topic TEXT, reason TEXT, payload BLOB);
CREATE TABLE IF NOT EXISTS rollouts (
  id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, state TEXT);
`;

/** Latency samples kept per device and model for the percentiles (the most recent ones). */
const LATENCY_WINDOW = 4096;

export interface DeviceStatus {
  id: string;
  group: string | null;
  engine: string | null;
  online: boolean;
  model_crc: number | null;
  inferences: number;
  ips: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  free: number | null;
  errors: number;
  run_errors: number;
  reports: number;
}

export interface ModelStatus {
  model_crc: number;
  devices: number;
  inferences: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  run_errors: number;
  classes: number[];
  confidence: number[];
  mean_confidence: number | null;
  /** Latency histogram: counts in `latency_bins_ms` upper edges. */
  latency_hist: number[];
  latency_bins_ms: number[];
}

export interface FleetStatus {
  devices: DeviceStatus[];
  models: ModelStatus[];
  telemetry: { reports: number; lag_p50_ms: number | null; lag_p95_ms: number | null };
  samples: number;
  rejected: number;
  rollout: unknown;
}

interface DeviceRow {
  id: string;
  grp: string | null;
  engine: string | null;
  online: number;
  model_crc: number | null;
}

interface SampleRow {
  device: string;
  model_crc: number;
  pred: number;
  confidence: number;
  shape: string;
  data: Buffer;
}

interface TelemetryRow {
  device: string;
  model_crc: number | null;
  received_ms: number;
  ips: number;
  free: number;
  err_frame: number;
  err_run: number;
  err_commit: number;
  err_boot: number;
  app_n: number;
  n: number;
  run_errors: number;
  latency: string;
  classes: string;
  confidence: string;
}

export function percentile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export class FleetStore {
  readonly db: Database.Database;
  private queue: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(file: string, readonly = false) {
    this.db = new Database(file, { readonly, fileMustExist: readonly });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    }
  }

  /** Writes are batched into one transaction every 100 ms (500 boards report every second). */
  private later(write: () => void): void {
    this.queue.push(write);
    this.flushTimer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const q = this.queue;
    this.queue = [];
    if (q.length) this.db.transaction(() => q.forEach((w) => w()))();
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  knows(device: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM devices WHERE id = ?').get(device);
  }

  putInfo(info: FleetInfo, now: number): void {
    this.flush();
    this.db
      .prepare(
        `INSERT INTO devices (id, grp, engine, transport, model_crc, info, first_seen_ms, last_seen_ms)
         VALUES (@id, @grp, @engine, @transport, @crc, @info, @now, @now)
         ON CONFLICT (id) DO UPDATE SET grp = @grp, engine = @engine, transport = @transport, model_crc = @crc,
         info = @info, last_seen_ms = @now`,
      )
      .run({
        id: info.id,
        grp: info.group,
        engine: info.engine,
        transport: info.transport,
        crc: info.model?.crc ?? null,
        info: JSON.stringify(info),
        now,
      });
  }

  setOnline(device: string, online: boolean, now: number): void {
    this.flush();
    this.db
      .prepare(
        `INSERT INTO devices (id, online, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET online = excluded.online, last_seen_ms = excluded.last_seen_ms`,
      )
      .run(device, online ? 1 : 0, now, now);
  }

  putTelemetry(device: string, t: FleetTelemetry, now: number): void {
    const e = t.agent.errors;
    this.later(() =>
      this.db
        .prepare(
          `INSERT INTO telemetry (device, model_crc, received_ms, lag_ms, n, ips, free, err_frame, err_run, err_commit,
           err_boot, app_n, run_errors, latency, classes, confidence)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          device,
          t.model_crc,
          now,
          typeof t.sent_ms === 'number' ? now - t.sent_ms : null, // a board without a wall clock sends none
          t.agent.n,
          t.agent.ips,
          t.agent.free,
          e.frame ?? 0,
          e.run ?? 0,
          e.commit ?? 0,
          e.boot ?? 0,
          t.latency_us.length,
          t.run_errors,
          JSON.stringify(t.latency_us),
          JSON.stringify(t.classes),
          JSON.stringify(t.confidence),
        ),
    );
  }

  putSample(
    device: string,
    crc: number,
    pred: number,
    confidence: number,
    shape: number[],
    data: Float32Array,
    now: number,
  ) {
    this.later(() =>
      this.db
        .prepare(
          'INSERT INTO samples (device, model_crc, received_ms, pred, confidence, shape, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          device,
          crc,
          now,
          pred,
          confidence,
          JSON.stringify(shape),
          Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        ),
    );
  }

  reject(topic: string, reason: string, payload: Buffer, now: number): void {
    this.later(() =>
      this.db
        .prepare('INSERT INTO rejects (received_ms, topic, reason, payload) VALUES (?, ?, ?, ?)')
        .run(now, topic, reason, payload),
    );
  }

  putRollout(state: unknown, now: number): void {
    this.later(() =>
      this.db.prepare('INSERT INTO rollouts (received_ms, state) VALUES (?, ?)').run(now, JSON.stringify(state)),
    );
  }

  samples(sinceMs = 0): {
    device: string;
    model_crc: number;
    pred: number;
    confidence: number;
    shape: number[];
    data: Float32Array;
  }[] {
    this.flush();
    return (
      this.db.prepare('SELECT * FROM samples WHERE received_ms >= ? ORDER BY id').all(sinceMs) as SampleRow[]
    ).map((r) => ({
      device: r.device,
      model_crc: r.model_crc,
      pred: r.pred,
      confidence: r.confidence,
      shape: JSON.parse(r.shape),
      data: new Float32Array(new Uint8Array(r.data).buffer),
    }));
  }

  /** Per device (current model) and per model version; `sinceMs` limits the reports considered. */
  status(sinceMs = 0): FleetStatus {
    if (!this.db.readonly) this.flush();
    const devices = this.db.prepare('SELECT * FROM devices ORDER BY id').all() as DeviceRow[];
    const rows = this.db
      .prepare(
        `SELECT device, model_crc, received_ms, ips, free, err_frame, err_run, err_commit, err_boot, app_n, n,
         run_errors, latency, classes, confidence FROM telemetry WHERE received_ms >= ? ORDER BY id`,
      )
      .all(sinceMs) as TelemetryRow[];
    const byDevice = new Map<string, TelemetryRow[]>();
    const byModel = new Map<number, TelemetryRow[]>();
    for (const r of rows) {
      const k = `${r.device}\0${r.model_crc}`;
      if (!byDevice.has(k)) byDevice.set(k, []);
      byDevice.get(k)!.push(r);
      if (r.model_crc !== null) {
        if (!byModel.has(r.model_crc)) byModel.set(r.model_crc, []);
        byModel.get(r.model_crc)!.push(r);
      }
    }
    const lastOf = new Map<string, TelemetryRow>();
    for (const r of rows) lastOf.set(r.device, r);
    const deviceStatus: DeviceStatus[] = devices.map((d) => {
      const mine = byDevice.get(`${d.id}\0${d.model_crc}`) ?? [];
      const lat = latencies(mine);
      const last = lastOf.get(d.id);
      const recent = mine.slice(-5);
      return {
        id: d.id,
        group: d.grp,
        engine: d.engine,
        online: !!d.online,
        model_crc: d.model_crc,
        inferences: mine.reduce((n, r) => n + r.app_n, 0),
        ips: recent.length ? recent.reduce((s, r) => s + r.ips, 0) / recent.length : 0,
        latency_p50_ms: ms(percentile(lat, 0.5)),
        latency_p95_ms: ms(percentile(lat, 0.95)),
        latency_p99_ms: ms(percentile(lat, 0.99)),
        free: last?.free ?? null,
        errors: last ? last.err_frame + last.err_run + last.err_commit + last.err_boot : 0,
        run_errors: mine.reduce((n, r) => n + r.run_errors, 0),
        reports: mine.length,
      };
    });
    const models: ModelStatus[] = [...byModel].map(([crc, rs]) => {
      const lat = latencies(rs);
      const classes: number[] = [];
      const confidence = new Array(CONF_BINS).fill(0);
      for (const r of rs) {
        (JSON.parse(r.classes) as (number | null)[]).forEach((c, i) => (classes[i] = (classes[i] ?? 0) + (c ?? 0)));
        (JSON.parse(r.confidence) as number[]).forEach((c, i) => (confidence[i] += c));
      }
      for (let i = 0; i < classes.length; i++) classes[i] ??= 0;
      const total = confidence.reduce((a, b) => a + b, 0);
      const { hist, edges } = latencyHistogram(lat);
      return {
        model_crc: crc,
        devices: new Set(rs.map((r) => r.device)).size,
        inferences: rs.reduce((n, r) => n + r.app_n, 0),
        latency_p50_ms: ms(percentile(lat, 0.5)),
        latency_p95_ms: ms(percentile(lat, 0.95)),
        latency_p99_ms: ms(percentile(lat, 0.99)),
        run_errors: rs.reduce((n, r) => n + r.run_errors, 0),
        classes,
        confidence,
        // Bin centres: the histogram's resolution (0.1) bounds this mean's error at ±0.05.
        mean_confidence: total ? confidence.reduce((s, c, i) => s + c * ((i + 0.5) / CONF_BINS), 0) / total : null,
        latency_hist: hist,
        latency_bins_ms: edges,
      };
    });
    const lags = (
      this.db.prepare('SELECT lag_ms FROM telemetry WHERE received_ms >= ?').all(sinceMs) as { lag_ms: number }[]
    )
      .map((r) => r.lag_ms)
      .filter((v) => v !== null)
      .sort((a, b) => a - b);
    const count = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    const rollout = this.db.prepare('SELECT state FROM rollouts ORDER BY id DESC LIMIT 1').get() as
      | { state: string }
      | undefined;
    return {
      devices: deviceStatus,
      models,
      telemetry: { reports: lags.length, lag_p50_ms: percentile(lags, 0.5), lag_p95_ms: percentile(lags, 0.95) },
      samples: count('SELECT COUNT(*) AS n FROM samples'),
      rejected: count('SELECT COUNT(*) AS n FROM rejects'),
      rollout: rollout ? JSON.parse(rollout.state) : null,
    };
  }
}

const ms = (us: number | null) => (us === null ? null : us / 1000);

function latencies(rows: TelemetryRow[]): number[] {
  const out: number[] = [];
  for (let i = rows.length - 1; i >= 0 && out.length < LATENCY_WINDOW; i--)
    out.push(...(JSON.parse(rows[i].latency) as number[]));
  return out.sort((a, b) => a - b);
}

/** 12 log-spaced bins from the fastest to the slowest inference (ms upper edges). */
function latencyHistogram(sortedUs: number[]): { hist: number[]; edges: number[] } {
  if (!sortedUs.length) return { hist: [], edges: [] };
  const lo = Math.max(1, sortedUs[0]);
  const hi = Math.max(lo * 1.01, sortedUs[sortedUs.length - 1]);
  const bins = 12;
  const edges = Array.from({ length: bins }, (_, i) => lo * (hi / lo) ** ((i + 1) / bins));
  const hist = new Array(bins).fill(0);
  for (const v of sortedUs) hist[Math.min(bins - 1, edges.findIndex((e) => v <= e * 1.000001) >>> 0)]++;
  return { hist, edges: edges.map((e) => e / 1000) };
}
