// The agent choosing MQTT on the board itself (device/agent/mqtt.ts): emulated boards installed for the fleet
// (their flash holds the choice file, as `morsel flash --mqtt URL --fleet F` writes it) whose firmware MQTT client
// is the real mqtt npm client, against a real Mosquitto and the fleet server: an Espruino-like board (the ES5
// agent in node's vm, the MQTT module's face) and a NodeMCU board (the Lua agent in Lua 5.1 under board.lua, the
// mqtt module's face). No simulator and no gateway: each board's own agent publishes its info, status and
// telemetry, and takes a signed deploy and RUN requests.

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
import { main } from '../host/cli/main';
import { Mosquitto, morsel, ROOT, until } from './fleet-helpers';
import * as mqtt from 'mqtt';

const FLEET = 'onboard';
const KEY = new Uint8Array(32).map((_, i) => i * 5 + 3);

describe("the agent's own MQTT link (Mosquitto, fleet server, node and Lua 5.1 boards with the firmware MQTT API)", function () {
  this.timeout(120_000);
  let broker: Mosquitto;
  let server: FleetServer;
  const boards: MqttBoard[] = [];
  const IDS = ['esp-1', 'mcu-1'];
  let tmp: string;
  const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_mlp_compressed/distill/model.msl')));
  const device = (id: string) => server.store.status().devices.find((d) => d.id === id);
  const every = (ok: (d: NonNullable<ReturnType<typeof device>>) => boolean) =>
    IDS.every((id) => {
      const d = device(id);
      return d !== undefined && ok(d);
    });

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-agent-mqtt-'));
    broker = await Mosquitto.start();
    server = await FleetServer.start({ fleet: FLEET, dbFile: path.join(tmp, 'fleet.db'), brokerUrl: broker.url });
    for (const [id, engine] of [
      ['esp-1', 'node'],
      ['mcu-1', 'lua5.1'],
    ] as const)
      boards.push(
        await MqttBoard.start({
          brokerUrl: broker.url,
          fleet: FLEET,
          group: 'field',
          id,
          engine,
          storageDir: path.join(tmp, id),
          key: KEY,
        }),
      );
  });

  after(async () => {
    for (const b of boards) await b.stop();
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

  it('`morsel flash --mqtt` refuses, before touching a port, a broker the board cannot use or an install without --target espruino', async () => {
    const blobFile = path.join(ROOT, 'models/fashion_mlp_compressed/distill/model.msl');
    const said: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void said.push(a.join(' '));
    const flash = (extra: string[]) => main(['flash', '--port', '/nonexistent/tty', blobFile, '--insecure', ...extra]);
    try {
      assert.equal(await flash(['--mqtt', 'mqtt://10.0.0.2']), 2);
      assert.equal(await flash(['--target', 'espruino', '--mqtt', 'mqtts://10.0.0.2']), 2);
      assert.equal(await flash(['--target', 'espruino', '--mqtt', 'mqtt://10.0.0.2', '--fleet', 'a b']), 2);
    } finally {
      console.error = error;
    }
    assert.match(said[0], /--mqtt is chosen at install: use it with --target espruino/);
    assert.match(said[1], /no TLS or websockets on the board/);
    assert.match(said[2], /bad fleet name 'a b'/);
  });

  it('announce themselves: the server lists them online with their retained info, and their telemetry arrives', async () => {
    await until('both boards online with telemetry', () => every((d) => d.online && d.reports > 0));
    const r = await morsel(['fleet', 'status', '--broker', broker.url, '--fleet', FLEET, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const devices = JSON.parse(r.stdout).devices;
    assert.deepEqual(
      devices.map((d: Record<string, unknown>) => [d.id, d.online, d.group, d.engine, d.model_crc, d.errors]),
      [
        ['esp-1', true, 'field', 'node', null, 0],
        ['mcu-1', true, 'field', 'lua5.1', null, 0],
      ],
    );
  });

  it('take a signed deploy over the broker, then answer RUN requests with the new model, bit-exact alike', async () => {
    const r = await deploy({ brokerUrl: broker.url, fleet: FLEET, group: 'field', blob, key: KEY, canary: 1 });
    assert.equal(r.state, 'done', r.reason);
    await until('the new model in their info', () => every((d) => d.model_crc === crc32(blob)));
    const c = await mqtt.connectAsync(broker.url);
    const outputs: number[][] = [];
    try {
      for (const id of IDS) {
        const link = await MqttLink.open(c, FLEET, id);
        const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 5000 });
        const info = await client.hello();
        assert.equal(info.model?.crc, crc32(blob));
        const x = new Int8Array(784).map((_, i) => ((i * 37) % 256) - 128);
        outputs.push((await client.run(x)).y);
        await link.close();
      }
    } finally {
      await c.endAsync();
    }
    assert.equal(outputs[0].length, 10);
    assert.deepEqual(outputs[1], outputs[0]);
    // Their agents' telemetry now names the model and counts the inference (no application reports per-inference
    // figures on these boards, so `inferences`, the application's count, stays 0).
    const agentCount = (id: string) =>
      server.store.db
        .prepare('SELECT n FROM telemetry WHERE device = ? AND model_crc = ? ORDER BY id DESC LIMIT 1')
        .get(id, crc32(blob)) as { n: number } | undefined;
    await until('telemetry on the new model counting the inference', () => {
      server.store.flush();
      return IDS.every((id) => (agentCount(id)?.n ?? 0) >= 1);
    });
  });

  it('refuse an unsigned upload: the agent checks the tags, the link holds no key', async () => {
    const c = await mqtt.connectAsync(broker.url);
    try {
      for (const id of IDS) {
        const link = await MqttLink.open(c, FLEET, id);
        const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 5000 });
        await assert.rejects(client.flash(blob, {}), /AUTH|authenticated/, id);
        await link.close();
      }
    } finally {
      await c.endAsync();
    }
  });

  it('go offline by their last will on a power cut, and back online on the model they had after a reboot', async () => {
    for (const b of boards) await b.stop(true);
    await until('offline', () => every((d) => !d.online));
    for (const b of boards) await b.boot();
    await until('online again', () => every((d) => d.online && d.model_crc === crc32(blob)));
  });
});
