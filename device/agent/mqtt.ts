// The agent on MQTT (docs/fleet.md): a board whose install chose the fleet (FILE_MQTT in its flash, written by
// `morsel flash --mqtt URL --fleet F`) talks to the broker through its firmware's own MQTT client instead of the
// UART. The frames are the serial link's, unchanged, one per message: `down` messages go to the agent's reader,
// and what the agent writes goes to `up`, except TELEMETRY, published as fleet telemetry JSON. The board keeps a
// retained `info` (the agent's INFO plus group and transport) and a last-will `status`, all QoS 1. Deploys are
// the serial link's signed uploads: the agent checks the tags itself, so this link holds no key.

/** The install's choice, `{"host": "10.0.0.2", "port": 1883, "fleet": "f", "group": "g"}`; absent: the UART. */
var FILE_MQTT = 'morsel.mq';
var MQTT_RETRY_MS = 2000;
/** A connection attempt that reported neither way by then is abandoned and tried again. */
var MQTT_ATTEMPT_MS = 15000;
/** Telemetry kept while the broker is away; older reports are dropped first (RAM is scarce). */
var MQTT_MAX_UNSENT = 8;
/** Fleet telemetry's empty application figures: no application on the board reports per-inference figures. */
var MQTT_NO_APP_STATS = '"latency_us":[],"classes":[],"confidence":[0,0,0,0,0,0,0,0,0,0],"run_errors":0';

interface MqttChoice {
  host: string;
  port: number;
  fleet: string;
  group: string;
}

/** What an adapter drives: bytes from its UART, and the periodic tick. */
interface AgentLink {
  feed(data: string): void;
  tick(): void;
}

/** The agent on the link the install chose: MQTT when FILE_MQTT says so and the firmware has a client, else the UART. */
function startAgent(platform: AgentPlatform, mqttCreate: FirmwareMqttCreate | null): AgentLink {
  var choice = parseMqttChoice(platform.readText(FILE_MQTT));
  if (choice && mqttCreate) return new MqttAgentLink(platform, choice, mqttCreate);
  var agent = new MorselAgent(platform);
  if (choice) {
    var why = 'installed for MQTT, but this firmware has no MQTT client: answering on the UART';
    platform.write(encodeFrame(MSG_LOG, 0, textBytes(JSON.stringify({ level: 'error', message: why }))));
  }
  return agent;
}

function parseMqttChoice(text: string | null): MqttChoice | null {
  if (!text) return null;
  try {
    var c = JSON.parse(text);
    return c && typeof c.host === 'string' && typeof c.fleet === 'string' && typeof c.group === 'string' ? c : null;
  } catch (e) {
    return null;
  }
}

class MqttAgentLink implements AgentLink {
  private agent: MorselAgent;
  private client: FirmwareMqtt;
  private p: AgentPlatform;
  private group: string;
  /** morsel/<fleet>/<device>/ */
  private prefix: string;
  private connected: boolean;
  private connecting: boolean;
  private attemptMs: number;
  /** The retained info, re-read from the agent after an upload finished (its model and nonce changed). */
  private info: string;
  private infoStale: boolean;
  private modelCrc: string;
  private asking: boolean;
  private unsent: string[];
  /** The UART still works: a request that came on it is answered on it (`morsel flash --port` after the install). */
  private uartWrite: (s: string) => void;
  private fromUart: boolean;

  constructor(platform: AgentPlatform, choice: MqttChoice, create: FirmwareMqttCreate) {
    var self = this;
    this.p = platform;
    this.group = choice.group;
    this.prefix = 'morsel/' + choice.fleet + '/' + platform.deviceId + '/';
    this.connected = false;
    this.connecting = false;
    this.attemptMs = 0;
    this.info = '';
    this.infoStale = true;
    this.modelCrc = 'null';
    this.asking = false;
    this.unsent = [];
    this.uartWrite = platform.write;
    this.fromUart = false;
    // The agent's writes (each one whole frame) go to the broker, or back to the UART a request came on.
    platform.write = function (s: string) {
      self.fromAgent(s);
    };
    this.agent = new MorselAgent(platform);
    this.readInfo();
    this.client = create(choice.host, {
      client_id: 'morsel-' + choice.fleet + '-' + platform.deviceId,
      port: choice.port || 1883,
      keep_alive: 60,
      clean_session: false,
      will_topic: this.prefix + 'status',
      will_message: 'offline',
      will_qos: 1,
      will_retain: true,
    });
    this.client.on('connected', function () {
      self.onConnected();
    });
    this.client.on('disconnected', function () {
      self.connected = false;
      self.connecting = false;
    });
    this.client.on('publish', function (m: { topic: string; message: string }) {
      if (m.topic === self.prefix + 'down') self.agent.feed(m.message);
    });
    this.connect();
  }

  /** UART bytes: the agent answers inside feed, so what it writes meanwhile goes back to the UART. */
  feed(data: string): void {
    this.fromUart = true;
    try {
      this.agent.feed(data);
    } finally {
      this.fromUart = false;
    }
  }

  tick(): void {
    var now = this.p.now();
    if (this.connecting && now - this.attemptMs >= MQTT_ATTEMPT_MS) this.connecting = false;
    if (!this.connected && !this.connecting && now - this.attemptMs >= MQTT_RETRY_MS) this.connect();
    if (this.infoStale) {
      this.readInfo();
      if (this.connected) this.publish('info', this.info, true);
    }
    this.agent.tick();
  }

  private connect(): void {
    this.connecting = true;
    this.attemptMs = this.p.now();
    this.client.connect();
  }

  private onConnected(): void {
    this.connected = true;
    this.connecting = false;
    this.publish('status', 'online', true);
    this.client.subscribe(this.prefix + 'down', { qos: 1 });
    this.publish('info', this.info, true);
    for (var i = 0; i < this.unsent.length; i++) this.publish('telemetry', this.unsent[i], false);
    this.unsent = [];
  }

  private publish(topic: string, message: string, retain: boolean): void {
    this.client.publish(this.prefix + topic, message, { qos: 1, retain: retain });
  }

  /** INFO from the agent itself (a HELLO with seq 0, answered inside feed), with the link's group and transport. */
  private readInfo(): void {
    this.asking = true;
    this.agent.feed(encodeFrame(MSG_HELLO, 0, new Uint8Array(0)));
    this.asking = false;
    this.infoStale = false;
  }

  /** One frame the agent wrote, SLIP-encoded: its type is the byte after END (no type needs escaping). */
  private fromAgent(s: string): void {
    var type = s.charCodeAt(1);
    if (this.fromUart && type !== MSG_TELEMETRY) {
      if (type === MSG_COMMITTED || type === MSG_ERROR) this.infoStale = true;
      this.uartWrite(s);
    } else if (type === MSG_INFO && this.asking) {
      var info = unslipPayload(s);
      var model = JSON.parse(info).model;
      this.modelCrc = model ? String(model.crc) : 'null';
      this.info = info.substring(0, info.length - 1) + ',"group":"' + this.group + '","transport":"mqtt"}';
    } else if (type === MSG_TELEMETRY) {
      var t = '{"model_crc":' + this.modelCrc + ',"agent":' + unslipPayload(s) + ',' + MQTT_NO_APP_STATS + '}';
      if (this.connected) this.publish('telemetry', t, false);
      else if (this.unsent.push(t) > MQTT_MAX_UNSENT) this.unsent.shift();
    } else {
      // An upload finished (committed, or refused at commit): the model and the nonce may have changed.
      if (type === MSG_COMMITTED || type === MSG_ERROR) this.infoStale = true;
      // Offline, an answer is dropped: the host's request times out and is repeated, as on a noisy UART.
      if (this.connected) this.publish('up', s, false);
    }
  }
}

/** The payload of one SLIP-encoded frame the agent wrote (whose CRC it computed itself) as a binary string. */
function unslipPayload(s: string): string {
  var out = '';
  for (var i = 1; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (c === SLIP_END) break;
    if (c === SLIP_ESC) {
      i++;
      c = s.charCodeAt(i) === SLIP_ESC_END ? SLIP_END : SLIP_ESC;
    }
    out += String.fromCharCode(c);
  }
  var n = out.charCodeAt(2) + 256 * out.charCodeAt(3);
  return out.substring(4, 4 + n);
}
