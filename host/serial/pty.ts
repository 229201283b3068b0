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
/** sh -c SCRIPT socat ADDR1 ADDR2: runs socat until it exits or the shell's stdin reaches end of file. */
const SOCAT_WATCHDOG = 'exec 3<&0; "$0" "$@" & pid=$!; { read _ <&3; kill $pid 2>/dev/null; } & wait $pid';

export async function createPtyPair(hostPath?: string): Promise<PtyPair> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-pty-'));
  const host = hostPath ? path.resolve(hostPath) : path.join(dir, 'host');
  const device = path.join(dir, 'device');
  if (!fs.existsSync(SOCAT)) throw new Error(`socat not found at ${SOCAT} (apt-get install socat)`);
  // socat outlives a parent that is killed outright, so it runs under a shell that ends it when our end of
  // the shell's stdin closes: on close(), and when this process dies in any way (even SIGKILL).
  const proc: ChildProcess = spawn(
    '/bin/sh',
    ['-c', SOCAT_WATCHDOG, SOCAT, `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const close = () => {
    proc.stdin!.end();
    fs.rmSync(dir, { recursive: true, force: true });
    if (hostPath && fs.lstatSync(host, { throwIfNoEntry: false })?.isSymbolicLink()) fs.rmSync(host, { force: true });
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
  (proc.stdin as unknown as { unref(): void }).unref();
  (proc.stderr as unknown as { unref(): void }).unref();
  return { hostPath: host, devicePath: device, close };
}
