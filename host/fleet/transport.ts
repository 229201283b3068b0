// The board end of the fleet transport: one MQTT connection per board that carries the agent's frames
// (docs/fleet.md). Frames from the broker go to the agent unchanged: a deploy is the serial link's
// authenticated upload (PUT_BEGIN and COMMIT tagged with the board's key and nonce), and the agent itself
// checks the tags (device/agent/auth.ts), so the transport holds no key and trusts nothing it relays. Frames
// from the agent go up unchanged, except TELEMETRY, which is published as JSON on the telemetry topic with the
// model's CRC and the application's per-inference figures. A simulated board (board.ts) and the gateway
// (gateway.ts, a serial board behind USB) both use it; on a board with its own network stack this is the
// agent's MQTT side.

import * as mqtt from 'mqtt';
import { decodeFrame, encodeFrame, type Frame, Msg, type Telemetry } from '../serial/protocol';
import { SlipDecoder, slipEncode } from '../serial/slip';
import { CONF_BINS, deviceTopic, type FleetInfo, type FleetTelemetry, type HardSample } from './topics';

export interface AppStats {
  latency_us: number[];
  classes: number[];
  confidence: number[];
  run_errors: number;
}

export interface TransportOptions {
  brokerUrl: string;
  fleet: string;
  device: string;
  group: string;
  kind: FleetInfo['transport'];
  /** Bytes to the agent (a SLIP stream). */
  toAgent(bytes: Buffer): void;
  /** The application's figures since the last call (reset by the call). */
  takeAppStats?(): AppStats;
  reconnectMs?: number;
}

/** Reports kept while the broker is away (a minute at the default 1 s period); older ones are dropped first. */
const MAX_UNSENT = 60;

export const emptyAppStats = (): AppStats => ({
  latency_us: [],
  classes: [],
  confidence: new Array(CONF_BINS).fill(0),
  run_errors: 0,
});

export class BoardTransport {
  readonly client: mqtt.MqttClient;
  private decoder = new SlipDecoder(8192);
  private info: FleetInfo | null = null;
  private readonly down: string;
  /** Frames from the broker that are not frames (malformed payloads): dropped and counted. */
  rejected = 0;
  /**
   * Telemetry made while not connected, sent after the info on (re)connection. Handed to mqtt.js instead, it
   * would go out ahead of the info: mqtt.js sends its offline queue before the 'connect' handler runs, and 500
   * boards booting on a loaded machine had every report refused by the server as from an unknown device.
   */
  private unsent: string[] = [];
  /** Connected and the info sent on this connection (mqtt.js's `connected` is set before its queue is sent). */
  private ready = false;

  constructor(private readonly o: TransportOptions) {
    this.down = deviceTopic(o.fleet, o.device, 'down');
    this.client = mqtt.connect(o.brokerUrl, {
      clientId: `morsel-${o.fleet}-${o.device}`,
      clean: false, // QoS 1 frames sent while the board was away arrive when it is back
      reconnectPeriod: o.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      will: { topic: deviceTopic(o.fleet, o.device, 'status'), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.publish('status', 'online', true);
      this.client.subscribe(this.down, { qos: 1 });
      if (this.info) this.publish('info', JSON.stringify(this.info), true);
      for (const t of this.unsent.splice(0)) this.publish('telemetry', t);
      this.ready = true;
    });
    this.client.on('close', () => {
      this.ready = false;
    });
    this.client.on('error', () => undefined); // reconnects on its own; the broker may be restarting
    this.client.on('message', (topic, payload) => {
      if (topic === this.down) this.fromBroker(payload);
    });
  }

  private publish(t: 'up' | 'telemetry' | 'samples' | 'info' | 'status', payload: string | Buffer, retain = false) {
    // QoS 1: while offline the client queues it and sends it on reconnect.
    this.client.publish(deviceTopic(this.o.fleet, this.o.device, t), payload, { qos: 1, retain });
  }

  /** The agent's INFO (from a HELLO the board asked itself, with the nonce a deploy is signed for), retained. */
  setInfo(info: Omit<FleetInfo, 'group' | 'transport'>): void {
    this.info = { ...info, group: this.o.group, transport: this.o.kind };
    if (this.ready) this.publish('info', JSON.stringify(this.info), true);
  }

  get modelCrc(): number | null {
    return this.info?.model?.crc ?? null;
  }

  private fromBroker(payload: Buffer): void {
    for (const f of this.decoder.push(payload).map(decodeFrame)) {
      if (f) this.o.toAgent(slipEncode(encodeFrame(f.type, f.seq, f.payload)));
      else this.rejected++;
    }
  }

  /** A frame the agent wrote (already split out of its byte stream). */
  fromAgent(f: Frame, wire: Buffer): void {
    if (f.type === Msg.TELEMETRY) {
      const agent = JSON.parse(f.payload.toString('latin1')) as Telemetry;
      const t: FleetTelemetry = {
        sent_ms: Date.now(),
        model_crc: this.modelCrc,
        agent,
        ...(this.o.takeAppStats?.() ?? emptyAppStats()),
      };
      if (this.ready) return this.publish('telemetry', JSON.stringify(t));
      if (this.unsent.push(JSON.stringify(t)) > MAX_UNSENT) this.unsent.shift();
      return;
    }
    this.publish('up', wire);
  }

  publishSample(s: HardSample): void {
    this.publish('samples', JSON.stringify(s));
  }

  /** Leaves like a power cut (no goodbye: the broker publishes the will) or cleanly (status offline). */
  async close(clean = true): Promise<void> {
    if (clean && this.client.connected) {
      this.client.publish(deviceTopic(this.o.fleet, this.o.device, 'status'), 'offline', { qos: 1, retain: true });
    }
    await this.client.endAsync(!clean);
  }
}
