// What the emulated board's engine host (host/serial/device-engine.ts) offers the agent's emulator adapter
// (emulator.ts), declared once: the agent's build takes this module as a script (its `export`s dropped) and the
// host imports the type. Only strings cross the engine boundary, since every engine binding can pass those; byte 0
// travels as U+0100 because C-string bindings (QuickJS's) stop at NUL.

export interface EmulatorHost {
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
  /** Bytes of RAM left (the engine host measures its engine's heap). */
  freeRam(): number;
  /**
   * The board's SHA-256 engine (ESP32s hash in hardware) over an ArrayBuffer's bytes [offset, offset + n), as
   * 64 hex digits; absent on a board that leaves hashing to the agent's own SHA-256.
   */
  sha256?: (buffer: ArrayBuffer, offset: number, n: number) => string;
  /** The board's MQTT client (Espruino's MQTT module's face), on a board with a network stack. */
  mqtt?: FirmwareMqttCreate;
}

/**
 * The firmware's MQTT client, in the face of Espruino's MQTT module (`require("MQTT").create(server, options)`);
 * nodemcu.lua adapts NodeMCU's `mqtt.Client` to it, a JerryScript port provides `morsel_mqtt_create`.
 * Events: `connected`, `disconnected`, `publish` ({topic, message} with the message as a binary string).
 */
export interface FirmwareMqtt {
  connect(): void;
  subscribe(topic: string, options: { qos: number }): void;
  publish(topic: string, message: string, options: { qos: number; retain: boolean }): void;
  on(event: string, listener: (message: { topic: string; message: string }) => void): void;
}

export interface FirmwareMqttOptions {
  client_id: string;
  port: number;
  keep_alive: number;
  /** false: QoS 1 frames sent while the board was away arrive when it is back (where the client supports it). */
  clean_session: boolean;
  will_topic: string;
  will_message: string;
  will_qos: number;
  will_retain: boolean;
}

export type FirmwareMqttCreate = (server: string, options: FirmwareMqttOptions) => FirmwareMqtt;
