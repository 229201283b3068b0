// A pair of connected pseudo-terminals made by socat: what one end writes, the other reads. The emulator
// and the fault relay put one end in front of the host and keep the other.

import { type ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface PtyPair {
  /** The end handed to the host (a symlink to /dev/pts/N). */
  hostPath: string;
  /** The end the emulator or relay opens. */
  devicePath: string;
  close(): void;
}

const SOCAT = process.env.MORSEL_SOCAT ?? '/usr/bin/socat';

export async function createPtyPair(hostPath?: string): Promise<PtyPair> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-pty-'));
  const host = hostPath ? path.resolve(hostPath) : path.join(dir, 'host');
  const device = path.join(dir, 'device');
  if (!fs.existsSync(SOCAT)) throw new Error(`socat not found at ${SOCAT} (apt-get install socat)`);
  const proc: ChildProcess = spawn(SOCAT, [`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const close = () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!(fs.existsSync(host) && fs.existsSync(device))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      close();
      throw new Error(`socat did not create the pty pair: ${stderr.trim() || 'timeout'}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  proc.unref();
  return { hostPath: host, devicePath: device, close };
}
