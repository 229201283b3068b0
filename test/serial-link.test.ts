// The serial link itself over a socat pty pair and the real serialport package, including serialport 13's
// write stall (a large write waiting for buffer space never resumes if the other side sends meanwhile).

import { strict as assert } from 'assert';
import { SerialPort } from 'serialport';
import { LinkStalledError, SerialLink } from '../host/serial/link';
import { createPtyPair, type PtyPair } from '../host/serial/pty';

function openRaw(path: string): Promise<SerialPort> {
  const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  return new Promise((res, rej) => p.open((e) => (e ? rej(e) : res(p))));
}

describe('serial link over a pty (real serialport)', function () {
  this.timeout(60000);
  let pty: PtyPair;
  let peer: SerialPort;
  let link: SerialLink;
  let chatter: NodeJS.Timeout | undefined;
  let received = 0;

  beforeEach(async () => {
    pty = await createPtyPair();
    peer = await openRaw(pty.devicePath);
    received = 0;
    peer.on('data', (c: Buffer) => (received += c.length));
    link = await SerialLink.open(pty.hostPath, { bytesPerSecond: 1e6, writeSlackMs: 1500 });
  });

  afterEach(async () => {
    clearInterval(chatter);
    await link.close();
    await new Promise<void>((r) => peer.close(() => r()));
    pty.close();
  });

  const chatty = () => {
    chatter = setInterval(() => peer.write(Buffer.alloc(64, 0x55)), 1);
  };

  it('windowed writes of 8 KB reach the other end intact while it keeps talking', async () => {
    chatty();
    let heard = 0;
    link.onData((c) => (heard += c.length));
    for (let i = 0; i < 128; i++) await link.write(Buffer.alloc(8192, i));
    for (let i = 0; i < 100 && received < 128 * 8192; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received, 128 * 8192);
    assert.ok(heard > 0 && link.bytesIn === heard);
  });

  it('a 1 MiB write with the peer talking either completes or is cut off by the watchdog, and the link works after', async () => {
    // The peer stops reading for a moment, so the write has to wait for buffer space while the peer talks.
    peer.pause();
    setTimeout(() => peer.resume(), 300);
    chatty();
    const outcome = await link.write(Buffer.alloc(1 << 20, 7)).then(
      () => 'completed',
      (e) => (e instanceof LinkStalledError ? 'stalled' : `error ${e.message}`),
    );
    assert.ok(outcome === 'completed' || outcome === 'stalled', outcome);
    console.log(`      1 MiB write: ${outcome}`);
    clearInterval(chatter);
    await new Promise((r) => setTimeout(r, 200));
    const before = received;
    await link.write(Buffer.from('still here'));
    for (let i = 0; i < 100 && received < before + 10; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(received >= before + 10, `${received - before} bytes after the big write (${outcome})`);
  });
});
