// Adapter for the emulated board (host/serial/emulator.ts): the engine host injects `MorselHost`, whose
// storage is a directory and whose UART is one end of a pty. Only strings cross the engine boundary, since
// every engine binding can pass those; byte 0 travels as U+0100 because C-string bindings (QuickJS's) stop
// at NUL. Uint8Array stores and `% 256` turn U+0100 back into 0 on this side, latin1 does on the host.

interface EmulatorHost {
  engine: string;
  deviceId: string;
  maxBlobBytes: number;
  write(bytes: string): void;
  now(): number;
  /** A small file's text, or null. */
  read(name: string): string | null;
  /** A blob file's bytes in one buffer (one copy, as close to mapped flash as an engine gets), or null. */
  readBytes(name: string): ArrayBuffer | null;
  writeAt(name: string, bytes: string, offset: number, total: number): void;
  writeText(name: string, text: string): void;
  erase(name: string): void;
  freeRam(): number;
  /**
   * The board's SHA-256 engine (ESP32s hash in hardware) over an ArrayBuffer's bytes [offset, offset + n), as
   * 64 hex digits; absent on a board that leaves hashing to the agent's own SHA-256.
   */
  sha256?: (buffer: ArrayBuffer, offset: number, n: number) => string;
  /** The board's MQTT client (Espruino's MQTT module's face), on a board with a network stack. */
  mqtt?: (server: string, options: FirmwareMqttOptions) => FirmwareMqtt;
}

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
