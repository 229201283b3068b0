// `morsel gateway`'s bridge on real parts: an emulated board on a pty (socat, the real bundles in node's vm)
// behind a real serialport, the gateway's MQTT session, the fleet server with its embedded aedes broker, and a
// signed deploy across all of them.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from '../host/blob/crc32';
import { deploy } from '../host/fleet/deploy';
import { type GatewayBoard, startGateway, stopGateway } from '../host/fleet/gateway';
import { FleetServer } from '../host/fleet/server';
import { Emulator } from '../host/serial/emulator';
import { ROOT } from './fleet-helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fleet gateway (emulated serial board on a pty ↔ aedes)', function () {
  this.timeout(60_000);
  const key = new Uint8Array(32).fill(9);
  let tmp: string;
  let server: FleetServer;
  let board: Emulator;
  let bridged: GatewayBoard[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-gateway-test-'));
    server = await FleetServer.start({ fleet: 'gw', dbFile: path.join(tmp, 'fleet.db'), mqttPort: 0 });
    // The board's agent is installed with the fleet key: it checks every deploy's tags itself.
    board = await Emulator.start({ engine: 'node', deviceId: 'usb-board-1', tickMs: 50, key });
  });

  after(async () => {
    await stopGateway(bridged);
    await board?.stop();
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('bridges a serial board: it shows up, takes a signed deploy, and its telemetry reaches the server', async () => {
    bridged = await startGateway({
      ports: [board.path],
      brokerUrl: server.brokerUrl,
      fleet: 'gw',
      group: 'rack',
      baud: 10_000_000,
    });
    assert.equal(bridged[0].id, 'usb-board-1');
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_mlp_compressed/mixed/model.msl')));
    const r = await deploy({ brokerUrl: server.brokerUrl, fleet: 'gw', group: 'rack', blob, key, canary: 1 });
    assert.equal(r.state, 'done', r.reason);
    const crc = crc32(blob);
    for (let i = 0; i < 100; i++) {
      const d = server.store.status().devices.find((x) => x.id === 'usb-board-1');
      if (d?.model_crc === crc && d.online && d.reports > 0) return;
      await sleep(200);
    }
    assert.fail(`board not on ${crc} with telemetry: ${JSON.stringify(server.store.status().devices)}`);
  });

  it("the board's agent refuses a deploy signed with another key, and keeps its model", async () => {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models/fashion_mlp_compressed/deep/model.msl')));
    const before = server.store.status().devices[0].model_crc;
    const r = await deploy({
      brokerUrl: server.brokerUrl,
      fleet: 'gw',
      group: 'rack',
      blob,
      key: new Uint8Array(32).fill(1),
      canary: 1,
      deviceTimeoutMs: 5000,
    });
    assert.equal(r.state, 'rolled-back');
    assert.match(r.reason, /upload not authorized: the tag does not verify with this board's key/);
    assert.equal(r.devices['usb-board-1'].state, 'kept old model');
    assert.equal(server.store.status().devices[0].model_crc, before);
  });
});
