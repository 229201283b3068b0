// Adapter for Espruino (ESP32 build): the protocol on a serial device (USB, Serial1, ...) whose console is
// moved away, blobs in the Storage filesystem. Espruino's Storage has no rename, so the commit is the
// rewrite of the small pointer file morsel.act, which Storage replaces in one step.

interface EspruinoSerial {
  on(event: string, cb: (data: string) => void): void;
  removeAllListeners(event: string): void;
  write(data: string): void;
  /** Makes this device the REPL's console (force: even when another device asked for it). */
  setConsole(force: boolean): void;
}
interface EspruinoStorage {
  read(name: string): string | undefined;
  write(name: string, data: string | Uint8Array, offset?: number, total?: number): boolean;
  erase(name: string): void;
  getFree(): number;
}
interface EspruinoCrypto {
  SHA256(data: string | Uint8Array | number[]): ArrayBuffer;
}
declare function require(name: string): EspruinoStorage & EspruinoCrypto;
declare function getTime(): number;
declare function getSerial(): string;
declare function setInterval(cb: () => void, ms: number): number;
declare function clearInterval(id: number): void;
/** Espruino also takes a string of code, evaluated when the timeout fires. */
declare function setTimeout(code: string, ms: number): number;
declare var E: { toArrayBuffer(s: string): ArrayBuffer; setConsole(device: string | null, options?: object): void };
declare var process: { memory(gc?: boolean): { free: number } };

/** Bytes Espruino counts per free JsVar on ESP32 (JSVAR_CACHE of 16-byte blocks). */
var ESPRUINO_BYTES_PER_VAR = 16;
/**
 * What `morsel flash --target espruino` writes besides the agent's own files (host/serial/espruino-install.ts), and
 * the MQTT choice (FILE_MQTT) of an install with --mqtt.
 */
var ESPRUINO_INSTALL_FILES = ['morsel', '.boot0', 'morsel.mq'];

/** The MQTT module (its ESP32 build has one, over WiFi), or null on a build without it. */
function espruinoMqtt(): FirmwareMqttCreate | null {
  try {
    return (require('MQTT') as unknown as { create: FirmwareMqttCreate }).create;
  } catch (e) {
    return null;
  }
}

/**
 * The code that erases the install, as a string made in RAM, run once the agent's code no longer runs.
 * Espruino runs a Storage module's functions in place from flash, and erasing a file turns every string that
 * points into it into null (jsvUpdateMemoryAddress, called by jsfEraseFileInternal in src/jsflash.c), the code of
 * the functions running at that moment included; a function passed to setTimeout would be agent code in flash
 * too, a string is evaluated from RAM. (The Linux build survived the erase from inside the agent in the three runs
 * of 2026-12-08, so this orders the uninstall safely rather than mend a reproduced exit.)
 */
function espruinoEraseInstall(): string {
  var code = '';
  for (var i = 0; i < ESPRUINO_INSTALL_FILES.length; i++)
    code += 'require("Storage").erase(' + JSON.stringify(ESPRUINO_INSTALL_FILES[i]) + ');';
  return code;
}

function startEspruinoAgent(serial: EspruinoSerial, consoleTo: string): AgentLink {
  var storage = require('Storage');
  // ESP32 builds have the crypto module (mbedtls); a build without it falls back to the agent's own SHA-256.
  var crypto: EspruinoCrypto | null = null;
  try {
    crypto = require('crypto');
  } catch (e) {
    crypto = null;
  }
  // The REPL would otherwise swallow the binary frames; it stays reachable on the other console.
  E.setConsole(consoleTo, { force: true });
  var ticker = 0;
  var platform: AgentPlatform = {
    engine: 'espruino',
    deviceId: getSerial(),
    maxBlobBytes: storage.getFree(),
    sha256: crypto
      ? function (bytes: { [i: number]: number }, n: number) {
          return byteList(new Uint8Array(crypto!.SHA256(bytesOf(bytes, n))));
        }
      : null,
    write: function (s: string) {
      serial.write(s);
    },
    now: function () {
      return getTime() * 1000;
    },
    readBytes: function (name: string) {
      var s = storage.read(name);
      return s === undefined ? null : new Uint8Array(E.toArrayBuffer(s));
    },
    readText: function (name: string) {
      var s = storage.read(name);
      return s === undefined ? null : s;
    },
    // Flash bits only go from 1 to 0: rewriting a region after a reset is safe because a resumed upload
    // writes the very same bytes (same size and CRC) at the same offsets.
    writeBytes: function (name: string, bytes: Uint8Array, offset: number, total: number) {
      storage.write(name, bytes, offset, total);
    },
    writeText: function (name: string, text: string) {
      storage.write(name, text);
    },
    erase: function (name: string) {
      storage.erase(name);
    },
    freeRam: function () {
      return process.memory(false).free * ESPRUINO_BYTES_PER_VAR;
    },
    // Nothing boots the agent any more and the port is the REPL's again; the RAM it holds is freed at the next
    // reset (which finds no .boot0).
    uninstall: function () {
      clearInterval(ticker);
      serial.removeAllListeners('data');
      serial.setConsole(true);
      setTimeout(espruinoEraseInstall(), 0);
    },
  };
  var agent = startAgent(platform, espruinoMqtt());
  serial.on('data', function (data: string) {
    agent.feed(data);
  });
  ticker = setInterval(function () {
    agent.tick();
  }, 250);
  return agent;
}
