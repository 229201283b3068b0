// The board end of the fleet transport: one MQTT connection per board that carries the agent's frames
// (docs/fleet.md). Frames from the broker go to the agent unchanged, except AUTH (a signed deploy manifest,
// checked here) and a PUT_BEGIN that no valid manifest announced (refused here). Frames from the agent go
// up unchanged, except TELEMETRY, which is published as JSON on the telemetry topic with the model's CRC and
// the application's per-inference figures. A simulated board (board.ts) and the gateway (gateway.ts, a
// serial board behind USB) both use it; on a board with its own network stack this is the agent's MQTT side.

import * as mqtt from 'mqtt';
import { decodeFrame, encodeFrame, type Frame, Msg, type Telemetry } from '../serial/protocol';
import { SlipDecoder, slipEncode } from '../serial/slip';
import { checkDeploy, type DeployManifest, newNonce } from './auth';
import {
  CONF_BINS,
  deviceTopic,
  type FleetInfo,
  type FleetTelemetry,
  type HardSample,
  MSG_AUTH,
  MSG_AUTH_OK,
} from './topics';

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
  /** The fleet key; without one every deploy is refused. */
  key: Uint8Array | null;
  /** Bytes to the agent (a SLIP stream). */
  toAgent(bytes: Buffer): void;
  /** The board's upload nonce, kept in its flash (null before the first). */
  loadNonce(): string | null;
  saveNonce(nonce: string): void;
  /** The application's figures since the last call (reset by the call). */
  takeAppStats?(): AppStats;
  reconnectMs?: number;
}

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
  /** The blob the last valid manifest announced: the only PUT_BEGIN passed to the agent. */
  private authorized: { size: number; crc: number } | null = null;
  private readonly down: string;
  private nonce: string;
  /** Frames the transport refused or could not parse (malformed payloads from the broker). */
  rejected = 0;

  constructor(private readonly o: TransportOptions) {
    this.down = deviceTopic(o.fleet, o.device, 'down');
    this.nonce = o.loadNonce() ?? this.rotateNonce();
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

  /** The agent's INFO (from a HELLO the board asked itself), published retained. */
  setInfo(info: Omit<FleetInfo, 'group' | 'transport' | 'auth'>): void {
    this.info = { ...info, group: this.o.group, transport: this.o.kind, auth: { nonce: this.nonce } };
    if (this.client.connected) this.publish('info', JSON.stringify(this.info), true);
  }

  get modelCrc(): number | null {
    return this.info?.model?.crc ?? null;
  }

  private fromBroker(payload: Buffer): void {
    const frames = this.decoder.push(payload).map(decodeFrame);
    for (const f of frames) {
      if (!f) {
        this.rejected++;
        continue;
      }
      if (f.type === MSG_AUTH) this.auth(f);
      else if (f.type === Msg.PUT_BEGIN && !this.mayPut(f)) {
        this.rejected++;
        this.answerError(f.seq, 'AUTH', 'PUT_BEGIN without a signed manifest for this blob');
      } else this.o.toAgent(slipEncode(encodeFrame(f.type, f.seq, f.payload)));
    }
  }

  private mayPut(f: Frame): boolean {
    const a = this.authorized;
    return !!a && f.payload.length === 8 && f.payload.readUInt32LE(0) === a.size && f.payload.readUInt32LE(4) === a.crc;
  }

  private auth(f: Frame): void {
    let m: Partial<DeployManifest>;
    try {
      m = JSON.parse(f.payload.toString('utf8'));
    } catch {
      m = {};
    }
    const why = this.o.key ? checkDeploy(this.o.key, this.o.device, this.nonce, m) : 'this board has no fleet key';
    if (why) {
      this.rejected++;
      return this.answerError(f.seq, 'AUTH', why);
    }
    this.authorized = { size: m.size!, crc: m.crc! >>> 0 };
    this.publish('up', slipEncode(encodeFrame(MSG_AUTH_OK, f.seq, Buffer.from('{}'))));
  }

  /** A new nonce after every finished upload: the manifests signed for the old one are dead. */
  private rotateNonce(): string {
    this.nonce = newNonce();
    this.o.saveNonce(this.nonce);
    if (this.info) this.setInfo(this.info);
    return this.nonce;
  }

  private answerError(seq: number, code: string, message: string): void {
    this.publish('up', slipEncode(encodeFrame(Msg.ERROR, seq, Buffer.from(JSON.stringify({ code, message })))));
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
      return this.publish('telemetry', JSON.stringify(t));
    }
    const verifyFailed = f.type === Msg.ERROR && /"code":"VERIFY"/.test(f.payload.toString('latin1'));
    if (this.authorized && (f.type === Msg.COMMITTED || verifyFailed)) {
      this.authorized = null;
      this.rotateNonce();
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
