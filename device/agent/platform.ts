// What the agent needs from a board: a byte pipe, a clock, a little flash and a RAM figure. Each adapter
// (espruino.ts, jerryscript.ts, emulator.ts) builds one of these; the protocol code never touches a global. The
// runtime beside it (Morsel, MorselModelHandle) is declared in runtime-api.ts, generated from device/runtime.ts.

interface AgentPlatform {
  /** Short names reported by INFO. */
  engine: string;
  deviceId: string;
  /** Sends a binary string (one char per byte) to the host. */
  write(bytes: string): void;
  /** Milliseconds, monotonic enough for intervals; fractions allowed. */
  now(): number;
  /** Whole file as bytes, or null when absent. Espruino maps it from flash without copying. */
  readBytes(name: string): Uint8Array | null;
  /** Whole file as text, or null when absent. */
  readText(name: string): string | null;
  /** Writes bytes at offset into a file of `total` bytes, creating it on the first write. */
  writeBytes(name: string, bytes: Uint8Array, offset: number, total: number): void;
  /** Replaces a small file in one step (the commit pointer relies on this being atomic). */
  writeText(name: string, text: string): void;
  erase(name: string): void;
  freeRam(): number;
  /** Largest blob this board's flash can hold. */
  maxBlobBytes: number;
  /** The firmware's native SHA-256 of bytes[0, n) as 32 bytes, or null to use the agent's own (sha256.ts). */
  sha256: ((bytes: { [i: number]: number }, n: number) => number[]) | null;
  /**
   * Removes the firmware's install of the agent (its code and boot hook) and gives the port back to the REPL,
   * after the agent erased its own files; absent where the board cannot (MSG_UNINSTALL is then refused).
   */
  uninstall?: () => void;
}

/** What an exception says: an Error's message, or the value itself (the Lua runtime raises plain strings). */
function errorMessage(e: unknown): string {
  return typeof e === 'string' ? e : String(e && (e as Error).message);
}
