// Adapter for JerryScript firmware. The firmware provides the native functions declared here (see
// device/agent/README.md), calls MorselAgent.jerryscript() once after evaluating the bundles, then feeds UART
// bytes with agent.feed(binaryString) and calls agent.tick() every ~250 ms from its main loop.

declare function morsel_uart_write(bytes: string): void;
declare function morsel_millis(): number;
declare function morsel_device_id(): string;
declare function morsel_free_heap(): number;
declare function morsel_storage_capacity(): number;
declare function morsel_storage_read(name: string): ArrayBuffer | undefined;
declare function morsel_storage_write(name: string, bytes: Uint8Array, offset: number, total: number): void;
declare function morsel_storage_replace(name: string, text: string): void;
declare function morsel_storage_erase(name: string): void;
/** Optional: the firmware's SHA-256 (mbedtls on ESP-IDF) of bytes[0, n), as an ArrayBuffer of 32 bytes. */
declare var morsel_sha256: ((bytes: Uint8Array, n: number) => ArrayBuffer) | undefined;
/** Optional: the firmware's MQTT client (esp-mqtt) in the face of Espruino's MQTT module (device/agent/mqtt.ts). */
declare var morsel_mqtt_create: FirmwareMqttCreate | undefined;

function startJerryScriptAgent(): AgentLink {
  var platform: AgentPlatform = {
    engine: 'jerryscript',
    deviceId: morsel_device_id(),
    maxBlobBytes: morsel_storage_capacity(),
    sha256:
      typeof morsel_sha256 === 'function'
        ? function (bytes: { [i: number]: number }, n: number) {
            return byteList(new Uint8Array(morsel_sha256!(bytesOf(bytes, n), n)));
          }
        : null,
    write: function (s: string) {
      morsel_uart_write(s);
    },
    now: function () {
      return morsel_millis();
    },
    readBytes: function (name: string) {
      var b = morsel_storage_read(name);
      return b === undefined ? null : new Uint8Array(b);
    },
    readText: function (name: string) {
      var b = morsel_storage_read(name);
      return b === undefined ? null : bytesText(new Uint8Array(b));
    },
    writeBytes: function (name: string, bytes: Uint8Array, offset: number, total: number) {
      morsel_storage_write(name, bytes, offset, total);
    },
    writeText: function (name: string, text: string) {
      morsel_storage_replace(name, text);
    },
    erase: function (name: string) {
      morsel_storage_erase(name);
    },
    freeRam: function () {
      return morsel_free_heap();
    },
  };
  return startAgent(platform, typeof morsel_mqtt_create === 'function' ? morsel_mqtt_create : null);
}
