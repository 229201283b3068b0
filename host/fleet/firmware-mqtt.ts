// A board that reaches the broker on its own: the agent's MQTT link (device/agent/mqtt.ts) in an emulated board,
// whose firmware MQTT client (Espruino's MQTT module's face: create, connect, subscribe, publish, on) is the
// real mqtt npm client here. Like a firmware's it does not reconnect by itself: the agent retries from its tick.
// `morsel flash --mqtt URL --fleet F` writes the same choice file (mqttChoice) as this board's install does.

import * as mqtt from 'mqtt';
import { formatKey } from '../serial/auth';
import { BoardStorage } from '../serial/board-storage';
import type { FirmwareMqtt, FirmwareMqttOptions } from '../../device/agent/emulator-host';
import { type DeviceEngine, startDeviceEngine } from '../serial/device-engine';
import { hardwareSha256, KEY_FILE } from '../serial/emulator';
import { isLuaEngine, type LuaEngine } from '../engines/lua';
import { type LuaMqttBridge, startLuaBoard } from '../serial/lua-board';
import { checkName } from './topics';

type Listener = (m: { topic: string; message: string }) => void;

/** The file the agent reads at boot to choose MQTT (FILE_MQTT in device/agent/mqtt.ts). */
export const MQTT_CHOICE_FILE = 'morsel.mq';

/** The choice file's text for a broker URL (mqtt://host[:port]), fleet and group. */
export function mqttChoice(brokerUrl: string, fleet: string, group: string): string {
  const u = new URL(brokerUrl);
  if (u.protocol !== 'mqtt:' || !u.hostname)
    throw new Error(`--mqtt ${brokerUrl}: a board connects to mqtt://host[:port] (no TLS or websockets on the board)`);
  return JSON.stringify({
    host: u.hostname,
    port: Number(u.port || 1883),
    fleet: checkName('fleet', fleet),
    group: checkName('group', group),
  });
}

/** One firmware MQTT client over mqtt.js: binary strings in and out, as Espruino's module passes them. */
class FirmwareMqttClient implements FirmwareMqtt {
  private client: mqtt.MqttClient | null = null;
  private listeners = new Map<string, Listener[]>();

  constructor(
    private readonly server: string,
    private readonly o: FirmwareMqttOptions,
  ) {}

  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  private emit(event: string, m: { topic: string; message: string } = { topic: '', message: '' }): void {
    for (const l of this.listeners.get(event) ?? []) l(m);
  }

  connect(): void {
    this.client?.end(true);
    const c = mqtt.connect({
      host: this.server,
      port: this.o.port,
      clientId: this.o.client_id,
      keepalive: this.o.keep_alive,
      clean: this.o.clean_session,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: {
        topic: this.o.will_topic,
        payload: Buffer.from(this.o.will_message, 'latin1'),
        qos: this.o.will_qos as 0 | 1,
        retain: this.o.will_retain,
      },
    });
    this.client = c;
    c.on('connect', () => this.emit('connected'));
    c.on('close', () => {
      if (this.client === c) this.emit('disconnected');
    });
    c.on('error', () => undefined); // the close that follows reports it
    c.on('message', (topic, payload) => this.emit('publish', { topic, message: payload.toString('latin1') }));
  }

  subscribe(topic: string, options: { qos: number }): void {
    this.client?.subscribe(topic, { qos: options.qos as 0 | 1 });
  }

  publish(topic: string, message: string, options: { qos: number; retain: boolean }): void {
    this.client?.publish(topic, Buffer.from(message, 'latin1'), { qos: options.qos as 0 | 1, retain: options.retain });
  }

  /** A power cut (the socket dropped without DISCONNECT: the broker publishes the will) or a clean end. */
  async close(powerCut: boolean): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    if (powerCut) c.stream?.destroy();
    await c.endAsync(true);
  }
}

/**
 * NodeMCU's mqtt module for a Lua board (host/serial/lua/board.lua): its Client's calls arrive as request lines
 * (`C port keepalive clean will_qos will_retain host id will_topic will_message`, `S qos topic`, `P qos retain
 * topic message`, strings as x<hex>) and run on one FirmwareMqttClient; its events go back on the board's stdin.
 */
function luaMqttBridge(now: () => number, track: (c: FirmwareMqttClient) => void): LuaMqttBridge {
  return (send) => {
    let client: FirmwareMqttClient | null = null;
    return (request) => {
      const [kind, ...fields] = request.split(' ');
      const n = fields.map(Number);
      const text = (f: string) => Buffer.from(f.slice(1), 'hex').toString('latin1');
      if (kind === 'C') {
        const [port, keepAlive, clean, willQos, willRetain] = n;
        if (!client) {
          const c = new FirmwareMqttClient(text(fields[5]), {
            client_id: text(fields[6]),
            port,
            keep_alive: keepAlive,
            clean_session: clean === 1,
            will_topic: text(fields[7]),
            will_message: text(fields[8]),
            will_qos: willQos,
            will_retain: willRetain === 1,
          });
          c.on('connected', () => send(`E connected ${now()}\n`));
          c.on('disconnected', () => send(`E offline ${now()}\n`));
          c.on('publish', (m) => {
            const topic = Buffer.from(m.topic, 'latin1');
            const message = Buffer.from(m.message, 'latin1');
            send(`M ${topic.length}:${message.length} ${now()}\n`, Buffer.concat([topic, message]));
          });
          track(c);
          client = c;
        }
        client.connect();
      } else if (kind === 'S') client?.subscribe(text(fields[1]), { qos: n[0] });
      else if (kind === 'P') client?.publish(text(fields[2]), text(fields[3]), { qos: n[0], retain: n[1] === 1 });
    };
  };
}

export interface MqttBoardOptions {
  brokerUrl: string;
  fleet: string;
  group: string;
  id: string;
  storageDir: string;
  key: Uint8Array | null;
  /** node (Espruino's MQTT module's face, the agent in node's vm) or a Lua (NodeMCU's mqtt module, board.lua). */
  engine?: 'node' | LuaEngine;
  ramBytes?: number;
}

/** An emulated board (node's vm, or NodeMCU in Lua) whose agent chose MQTT at install and talks to the broker itself. */
export class MqttBoard {
  private engine: DeviceEngine | null = null;
  private clients: FirmwareMqttClient[] = [];
  private timer: NodeJS.Timeout | null = null;
  readonly storage: BoardStorage;

  private constructor(private readonly o: MqttBoardOptions) {
    this.storage = new BoardStorage(o.storageDir);
  }

  static async start(o: MqttBoardOptions): Promise<MqttBoard> {
    const b = new MqttBoard(o);
    const s = b.storage;
    if (o.key) s.writeText(KEY_FILE, formatKey(o.key));
    else s.erase(KEY_FILE);
    s.writeText(MQTT_CHOICE_FILE, mqttChoice(o.brokerUrl, o.fleet, o.group));
    await b.boot();
    return b;
  }

  /** Boots the agent on the flash as it is (again after a power cut). */
  async boot(): Promise<void> {
    const s = this.storage;
    const engine = this.o.engine ?? 'node';
    const track = (c: FirmwareMqttClient) => this.clients.push(c);
    const host = {
      engine,
      deviceId: this.o.id,
      maxBlobBytes: 1024 * 1024,
      write: () => {
        throw new Error('an MQTT board writes nothing to its UART');
      },
      now: () => performance.now(),
      read: (n: string) => s.read(n),
      readBytes: (n: string) => s.readBytes(n),
      writeAt: (n: string, b: string, off: number, t: number) => s.writeAt(n, b, off, t),
      writeText: (n: string, t: string) => s.writeText(n, t),
      erase: (n: string) => s.erase(n),
      sha256: hardwareSha256,
      // node's vm passes host functions and objects to the agent as they are (QuickJS would need each marshalled).
      mqtt: (server: string, options: FirmwareMqttOptions) => {
        const c = new FirmwareMqttClient(server, options);
        track(c);
        return c;
      },
    };
    const options = { ramBytes: this.o.ramBytes ?? 1536 * 1024, storageDir: s.dir };
    this.engine = isLuaEngine(engine)
      ? await startLuaBoard(engine, host, options, luaMqttBridge(host.now, track))
      : await startDeviceEngine(engine, host, options);
    this.timer = setInterval(() => this.engine?.tick(), 100);
  }

  /** Stops the board: a power cut leaves the broker to publish its last will. */
  async stop(powerCut = false): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.engine?.dispose();
    this.engine = null;
    await Promise.all(this.clients.splice(0).map((c) => c.close(powerCut)));
  }
}
