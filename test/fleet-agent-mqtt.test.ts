// The agent choosing MQTT on the board itself (device/agent/mqtt.ts): an emulated board installed for the fleet
// (its flash holds the choice file, as `morsel flash --mqtt URL --fleet F` writes it) whose firmware MQTT client
// is the real mqtt npm client, against a real Mosquitto and the fleet server. No simulator and no gateway: the
// board's own agent publishes its info, status and telemetry, and takes a signed deploy and RUN requests.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from '../host/blob/crc32';
import { deploy } from '../host/fleet/deploy';
import { MqttBoard, mqttChoice } from '../host/fleet/firmware-mqtt';
import { MqttLink } from '../host/fleet/mqtt-link';
import { FleetServer } from '../host/fleet/server';
import { DeviceClient } from '../host/serial/client';
import { Mosquitto, morsel, ROOT } from './fleet-helpers';
import * as mqtt from 'mqtt';

const FLEET = 'onboard';
const KEY = new Uint8Array(32).map((_, i) => i * 5 + 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("the agent's own MQTT link (Mosquitto, fleet server, an emulated board with the firmware MQTT API)", function () {
  this.timeout(120_000);
  let broker: Mosquitto;
  let server: FleetServer;
  let board: MqttBoard;
  let tmp: string;
  const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_mlp_compressed/distill/model.msl')));
  const device = () => server.store.status().devices.find((d) => d.id === 'esp-1');

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-agent-mqtt-'));
    broker = await Mosquitto.start();
    server = await FleetServer.start({ fleet: FLEET, dbFile: path.join(tmp, 'fleet.db'), brokerUrl: broker.url });
    board = await MqttBoard.start({
      brokerUrl: broker.url,
      fleet: FLEET,
      group: 'field',
      id: 'esp-1',
      storageDir: path.join(tmp, 'flash'),
      key: KEY,
    });
  });

  after(async () => {
    await board?.stop();
    await server?.stop();
    await broker?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes the install choice only for a plain mqtt:// broker and valid names', () => {
    assert.deepEqual(JSON.parse(mqttChoice('mqtt://10.0.0.2', 'f', 'g')), {
      host: '10.0.0.2',
      port: 1883,
      fleet: 'f',
      group: 'g',
    });
    assert.throws(() => mqttChoice('mqtts://10.0.0.2', 'f', 'g'), /no TLS/);
    assert.throws(() => mqttChoice('mqtt://h:1', 'a/b', 'g'), /bad fleet name/);
  });

  it('announces itself: the server lists it online with its retained info, and its telemetry arrives', async () => {
    await until('the board online with telemetry', () => {
      const d = device();
      return d?.online && d.reports > 0 && d;
    });
    const r = await morsel(['fleet', 'status', '--broker', broker.url, '--fleet', FLEET, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout).devices.find((x: { id: string }) => x.id === 'esp-1');
    assert.deepEqual([d.online, d.group, d.engine, d.model_crc, d.errors], [true, 'field', 'node', null, 0]);
  });

  it('takes a signed deploy over the broker, then answers RUN requests with the new model', async () => {
    const r = await deploy({ brokerUrl: broker.url, fleet: FLEET, group: 'field', blob, key: KEY, canary: 1 });
    assert.equal(r.state, 'done', r.reason);
    await until('the new model in its info', () => device()?.model_crc === crc32(blob));
    const c = await mqtt.connectAsync(broker.url);
    try {
      const link = await MqttLink.open(c, FLEET, 'esp-1');
      const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 3000 });
      const info = await client.hello();
      assert.equal(info.model?.crc, crc32(blob));
      const res = await client.run(new Int8Array(784).fill(-128));
      assert.equal(res.y.length, 10);
      await link.close();
    } finally {
      await c.endAsync();
    }
    // Its agent's telemetry now names the model and counts the inference (no application reports per-inference
    // figures on this board, so `inferences`, the application's count, stays 0).
    const agentCount = () =>
      server.store.db
        .prepare('SELECT n FROM telemetry WHERE device = ? AND model_crc = ? ORDER BY id DESC LIMIT 1')
        .get('esp-1', crc32(blob)) as { n: number } | undefined;
    await until('telemetry on the new model counting the inference', () => {
      server.store.flush();
      return (agentCount()?.n ?? 0) >= 1;
    });
  });

  it('refuses an unsigned upload: the agent checks the tags, the link holds no key', async () => {
    const c = await mqtt.connectAsync(broker.url);
    try {
      const link = await MqttLink.open(c, FLEET, 'esp-1');
      const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 3000 });
      await assert.rejects(client.flash(blob, {}), /AUTH|authenticated/);
      await link.close();
    } finally {
      await c.endAsync();
    }
  });

  it('goes offline by its last will on a power cut, and back online on the model it had after a reboot', async () => {
    await board.stop(true);
    await until('offline', () => device()?.online === false);
    await board.boot();
    await until('online again', () => device()?.online === true && device()?.model_crc === crc32(blob));
  });
});
