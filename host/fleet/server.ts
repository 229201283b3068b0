// `morsel fleet serve`: subscribes to every device of a fleet, stores what arrives (store.ts), answers status
// requests over MQTT and serves the dashboard. Starts an embedded aedes broker unless --broker names one.
// A payload it cannot use (bad JSON, wrong shape, a device that never announced itself) is kept in the
// rejects table with the reason and counted, never dropped silently and never fatal.

import * as http from 'http';
import * as net from 'net';
import * as mqtt from 'mqtt';
import { renderDashboard } from './dashboard';
import { FleetStore } from './store';
import {
  deviceTopic,
  type FleetInfo,
  type FleetTelemetry,
  fleetTopic,
  type HardSample,
  parseDeviceTopic,
  rolloutTopic,
  serverTopic,
} from './topics';

export interface ServeOptions {
  fleet: string;
  dbFile: string;
  /** Use this broker; otherwise start aedes on mqttPort (0: any free port). */
  brokerUrl?: string;
  mqttPort?: number;
  httpPort?: number;
  log?: (line: string) => void;
}

export class FleetServer {
  store!: FleetStore;
  brokerUrl!: string;
  httpPort: number | null = null;
  private client!: mqtt.MqttClient;
  private broker: { close(cb: () => void): void } | null = null;
  private brokerServer: net.Server | null = null;
  private httpServer: http.Server | null = null;
  /** Messages taken in since start (for messages/s). */
  received = 0;
  private readonly log: (line: string) => void;

  private constructor(private readonly o: ServeOptions) {
    this.log = o.log ?? (() => undefined);
  }

  static async start(o: ServeOptions): Promise<FleetServer> {
    const s = new FleetServer(o);
    try {
      await s.init();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async init(): Promise<void> {
    this.store = new FleetStore(this.o.dbFile);
    if (this.o.brokerUrl) this.brokerUrl = this.o.brokerUrl;
    else {
      // aedes is an ES module; this compiles to CommonJS, so load it with a real dynamic import.
      const { Aedes } = (await new Function('m', 'return import(m)')('aedes')) as typeof import('aedes');
      const broker = await Aedes.createBroker();
      this.broker = broker;
      const server = net.createServer(broker.handle as (socket: net.Socket) => void);
      this.brokerServer = server;
      await new Promise<void>((res, rej) =>
        server.once('error', rej).listen(this.o.mqttPort ?? 1883, '127.0.0.1', res),
      );
      this.brokerUrl = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    }
    const f = this.o.fleet;
    this.client = mqtt.connect(this.brokerUrl, {
      clientId: `morsel-server-${f}`,
      clean: false, // telemetry published while the server was away is delivered when it returns
      reconnectPeriod: 1000,
    });
    this.client.on('error', (e) => this.log(`broker: ${e.message}`));
    this.client.on('message', (topic, payload) => this.ingest(topic, payload));
    await new Promise<void>((res, rej) => {
      this.client.once('connect', () => res());
      this.client.once('error', rej);
    });
    // Info and status first: a device's retained info arrives before its telemetry is taken in.
    await this.client.subscribeAsync([fleetTopic(f, 'info'), fleetTopic(f, 'status')], { qos: 1 });
    await this.client.subscribeAsync(
      [fleetTopic(f, 'telemetry'), fleetTopic(f, 'samples'), rolloutTopic(f), serverTopic(f)],
      { qos: 1 },
    );
    if (this.o.httpPort !== undefined) await this.startHttp(this.o.httpPort);
  }

  private ingest(topic: string, payload: Buffer): void {
    this.received++;
    const now = Date.now();
    try {
      if (topic === rolloutTopic(this.o.fleet)) return this.store.putRollout(JSON.parse(payload.toString()), now);
      if (topic === serverTopic(this.o.fleet)) return this.answerStatus(payload);
      const t = parseDeviceTopic(topic);
      if (!t) return this.store.reject(topic, 'not a device topic', payload, now);
      if (t.topic === 'status') return this.store.setOnline(t.device, payload.toString() === 'online', now);
      if (t.topic === 'info') {
        if (!payload.length) return; // a cleared retained message
        const info = JSON.parse(payload.toString()) as FleetInfo;
        if (info.id !== t.device) throw new Error(`info names device '${info.id}'`);
        return this.store.putInfo(info, now);
      }
      if (!this.store.knows(t.device))
        return this.rejectLogged(topic, `unknown device '${t.device}' (no info yet)`, payload);
      if (t.topic === 'telemetry') {
        const m = JSON.parse(payload.toString()) as FleetTelemetry;
        if (!m || typeof m.agent !== 'object' || !Array.isArray(m.latency_us) || !Array.isArray(m.confidence))
          throw new Error('telemetry needs agent, latency_us, classes and confidence');
        return this.store.putTelemetry(t.device, m, now);
      }
      if (t.topic === 'samples') {
        const s = JSON.parse(payload.toString()) as HardSample;
        const q = new Int8Array(Buffer.from(s.x, 'base64'));
        const size = s.shape.reduce((a, b) => a * b, 1);
        if (q.length !== size || !(s.scale > 0)) throw new Error(`sample of ${q.length} values for shape [${s.shape}]`);
        const x = Float32Array.from(q, (v) => (v - s.zero_point) * s.scale);
        return this.store.putSample(t.device, s.model_crc, s.pred, s.confidence, s.shape, x, now);
      }
    } catch (e) {
      this.rejectLogged(topic, `malformed payload: ${(e as Error).message}`, payload);
    }
  }

  private rejectLogged(topic: string, reason: string, payload: Buffer): void {
    this.log(`rejected ${topic}: ${reason}`);
    this.store.reject(topic, reason, payload, Date.now());
  }

  private answerStatus(payload: Buffer): void {
    const req = JSON.parse(payload.toString()) as { reply?: string };
    if (typeof req.reply !== 'string' || !req.reply.startsWith(`morsel/${this.o.fleet}/$reply/`))
      throw new Error('status request needs a reply topic under morsel/<fleet>/$reply/');
    this.client.publish(req.reply, JSON.stringify(this.store.status()), { qos: 1 });
  }

  private async startHttp(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      try {
        if (req.url === '/api/status') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(this.store.status()));
        }
        if (req.url === '/' || req.url === '/index.html') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(renderDashboard(this.o.fleet, this.store.status()));
        }
        res.writeHead(404).end('not found\n');
      } catch (e) {
        res.writeHead(500).end(`${(e as Error).message}\n`);
      }
    });
    this.httpServer = server;
    await new Promise<void>((res, rej) => server.once('error', rej).listen(port, '127.0.0.1', res));
    this.httpPort = (server.address() as net.AddressInfo).port;
  }

  /** Clears a device's retained topics (a decommissioned board). */
  forget(device: string): void {
    for (const t of ['info', 'status'] as const)
      this.client.publish(deviceTopic(this.o.fleet, device, t), '', { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    await this.client?.endAsync().catch(() => undefined);
    if (this.httpServer) {
      this.httpServer.closeAllConnections();
      await new Promise<void>((r) => this.httpServer!.close(() => r()));
    }
    // The broker first: it disconnects its clients, so the listening socket can then close.
    if (this.broker) await new Promise<void>((r) => this.broker!.close(() => r()));
    if (this.brokerServer) await new Promise<void>((r) => this.brokerServer!.close(() => r()));
    this.store?.close();
  }
}
