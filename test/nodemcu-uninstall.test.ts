// `morsel uninstall --target nodemcu` against the emulated NodeMCU board (`morsel emulate --engine lua5.1`: the
// real Lua agent and NodeMCU adapter in lua5.1 behind a pty): a keyed board refuses it without the key and with a
// wrong one; with the key the agent's files, the installed runtime and agent and the init.lua hook are erased, a
// user's other files stay, and the UART answers as NodeMCU's Lua REPL.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../host/cli/main';
import { generateKey, writeKeyFile } from '../host/serial/auth';
import { AuthMismatchError, DeviceClient, type DeviceError } from '../host/serial/client';
import { Emulator } from '../host/serial/emulator';
import { replAnswers } from '../host/serial/espruino-install';
import { SerialLink } from '../host/serial/link';
import { ensureAgentBundle, ROOT } from './serial-fixtures';

/** What an install puts on a NodeMCU board's SPIFFS beside the agent's own files (docs/boards.md). */
const INSTALLED = {
  'morsel.lua': '-- the runtime',
  'morsel-agent.lua': '-- the agent',
  'init.lua': 'local Morsel = dofile("morsel.lua")\ndofile("morsel-agent.lua").nodemcu(Morsel, { uart = 0 })\n',
};

describe('NodeMCU uninstall (emulated lua5.1 board over a pty)', function () {
  this.timeout(120000);
  before(ensureAgentBundle);

  it('refuses without the key or with a wrong one; with it, erases the install and gives the UART to the Lua REPL', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-nodemcu-'));
    const key = generateKey();
    const keyFile = path.join(dir, 'flash.key');
    writeKeyFile(keyFile, key);
    const storageDir = path.join(dir, 'flash');
    fs.mkdirSync(storageDir);
    for (const [name, text] of Object.entries(INSTALLED)) fs.writeFileSync(path.join(storageDir, name), text);
    fs.writeFileSync(path.join(storageDir, 'wifi.lua'), '-- the user own file');
    const em = await Emulator.start({ engine: 'lua5.1', key, storageDir });
    try {
      const link = await SerialLink.open(em.path);
      const client = new DeviceClient(link, { bytesPerSecond: 1e6, latencyMs: 2000 });
      try {
        const blob = new Uint8Array(
          fs.readFileSync(path.join(ROOT, 'models', 'fashion_mlp_compressed', 'distill', 'model.msl')),
        );
        await client.flash(blob, { key });
        await assert.rejects(client.uninstall(null), AuthMismatchError);
        await assert.rejects(client.uninstall(generateKey()), (e: DeviceError) => e.code === 'AUTH');
        assert.notEqual((await client.hello()).model, null, 'still installed after the refusals');
      } finally {
        await link.close();
      }

      const said: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void said.push(a.join(' '));
      try {
        assert.equal(await main(['uninstall', '--port', em.path, '--target', 'nodemcu', '--key', keyFile]), 0);
      } finally {
        console.log = log;
      }
      assert.match(said.join('\n'), /uninstalled: 6 agent files .* the REPL answers on/);
      assert.deepEqual(fs.readdirSync(storageDir), ['wifi.lua']);

      // The UART is the interpreter's: a line of Lua runs and answers, then the prompt.
      const repl = await SerialLink.open(em.path);
      try {
        let text = '';
        repl.onData((c) => {
          text += c.toString('latin1');
        });
        assert.ok(await replAnswers(repl));
        await repl.write(Buffer.from('print(6 * 7)\n'));
        for (let i = 0; i < 300 && !/42\n> /.test(text); i++) await new Promise((r) => setTimeout(r, 10));
        assert.match(text, /42\n> /);
      } finally {
        await repl.close();
      }
      assert.deepEqual(em.faults, []);
    } finally {
      await em.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
