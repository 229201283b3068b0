// The emulated NodeMCU board: the Lua builds of the runtime (dist/device/morsel.lua) and of the agent
// (dist/device/morsel-agent.lua, with its NodeMCU adapter) in a real Lua interpreter, under host/serial/lua/board.lua,
// which provides NodeMCU's uart/file/node/tmr over stdio and the flash directory. Beside the JS engines of
// device-engine.ts, with the same DeviceEngine face; like the Duktape board it is a process of its own (killing it
// is a power cut) that does its own storage.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createInterface } from 'readline';
import { LUA_BINARIES, type LuaEngine } from '../engines/lua';
import { type BoardHost, type DeviceEngine, type EngineStartOptions, RUNTIME_BUNDLE } from './device-engine';

export const LUA_BOARD_ENGINES = Object.keys(LUA_BINARIES) as LuaEngine[];

const DIST_DEVICE = path.dirname(RUNTIME_BUNDLE);
export const RUNTIME_LUA_BUNDLE = path.join(DIST_DEVICE, 'morsel.lua');
export const AGENT_LUA_BUNDLE = path.join(DIST_DEVICE, 'morsel-agent.lua');
/** host/serial/lua/board.lua in the checkout (dist/device → the repository root). */
const BOARD_SCRIPT = path.join(DIST_DEVICE, '..', '..', 'host', 'serial', 'lua', 'board.lua');

/** What board.lua prints on stderr once the runtime and agent are loaded. */
const BOARD_READY = 'morsel-board: ready';

/** How board.lua's mqtt shim marks its requests on stderr. */
const MQTT_REQUEST = 'morsel-mqtt ';

/**
 * NodeMCU's mqtt module on the board, its network the host's (host/fleet/firmware-mqtt.ts): given `send`, which
 * delivers connection events and messages on the board's stdin, it returns the handler of the board's requests
 * (board.lua's `morsel-mqtt` lines, without the prefix).
 */
export type LuaMqttBridge = (send: (header: string, bytes?: Buffer) => void) => (request: string) => void;

/** One board process; resolves once it has booted (its committed model loaded), rejects if it stops first. */
export function startLuaBoard(
  engine: LuaEngine,
  host: BoardHost,
  opts: EngineStartOptions,
  mqtt?: LuaMqttBridge,
): Promise<DeviceEngine> {
  if (!opts.storageDir) throw new Error('the Lua board needs a storage directory');
  for (const f of [RUNTIME_LUA_BUNDLE, AGENT_LUA_BUNDLE])
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
  const child = spawn(
    LUA_BINARIES[engine],
    [
      BOARD_SCRIPT,
      RUNTIME_LUA_BUNDLE,
      AGENT_LUA_BUNDLE,
      opts.storageDir,
      String(host.maxBlobBytes),
      String(opts.ramBytes),
      host.deviceId,
      host.engine,
      ...(mqtt ? ['mqtt'] : []),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (c: Buffer) => host.write(c.toString('latin1')));
  child.stdin.on('error', () => undefined); // writes racing a reset
  const send = (header: string, bytes?: Buffer) => {
    if (child.exitCode !== null || child.killed) return;
    child.stdin.write(bytes ? Buffer.concat([Buffer.from(header, 'latin1'), bytes]) : header);
  };
  const mqttRequest = mqtt?.(send);
  const engineFace: DeviceEngine = {
    feed: (s) => {
      const bytes = Buffer.from(s, 'latin1');
      send(`D ${bytes.length} ${host.now()}\n`, bytes);
    },
    tick: () => send(`T ${host.now()}\n`),
    dispose: () => void child.kill('SIGKILL'),
  };
  let booted = false;
  let early = '';
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot start ${LUA_BINARIES[engine]}: ${e.message}`)));
    // One fault a line: the boot marker, then whatever the board reports (board.lua writes whole lines).
    createInterface({ input: child.stderr }).on('line', (line) => {
      const text = line.trim();
      if (!text) return;
      if (mqttRequest && text.startsWith(MQTT_REQUEST)) return mqttRequest(text.slice(MQTT_REQUEST.length));
      if (!booted && text === BOARD_READY) {
        booted = true;
        resolve(engineFace);
      } else if (booted) opts.onFault?.(text);
      else early += `${text} `;
    });
    child.on('exit', (code) => {
      if (!booted) reject(new Error(`the ${engine} board stopped while booting (exit ${code}): ${early.trim()}`));
    });
  });
}
