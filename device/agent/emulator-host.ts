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
}
