// Adapter for the emulated board (host/serial/emulator.ts): the engine host injects `MorselHost` (an EmulatorHost,
// emulator-host.ts), whose storage is a directory and whose UART is one end of a pty. Byte 0 travels as U+0100:
// Uint8Array stores and `% 256` turn it back into 0 on this side, latin1 does on the host.

function startEmulatorAgent(host: EmulatorHost): AgentLink {
  var platform: AgentPlatform = {
    engine: host.engine,
    deviceId: host.deviceId,
    maxBlobBytes: host.maxBlobBytes,
    sha256: host.sha256
      ? function (bytes: { [i: number]: number }, n: number) {
          var u = bytesOf(bytes, n);
          return hexBytes(host.sha256!(u.buffer, u.byteOffset, n));
        }
      : null,
    write: function (s: string) {
      host.write(nulSafe(s));
    },
    now: function () {
      return host.now();
    },
    readBytes: function (name: string) {
      var b = host.readBytes(name);
      return b === null ? null : new Uint8Array(b);
    },
    readText: function (name: string) {
      return host.read(name);
    },
    writeBytes: function (name: string, bytes: Uint8Array, offset: number, total: number) {
      host.writeAt(name, nulSafe(bytesText(bytes)), offset, total);
    },
    writeText: function (name: string, text: string) {
      host.writeText(name, text);
    },
    erase: function (name: string) {
      host.erase(name);
    },
    freeRam: function () {
      return host.freeRam();
    },
  };
  return startAgent(platform, host.mqtt || null);
}

function nulSafe(s: string): string {
  return s.replace(/\u0000/g, '\u0100');
}
