// The agent bundle's one global.
var MorselAgentApi = {
  version: AGENT_VERSION,
  emulator: startEmulatorAgent,
  espruino: startEspruinoAgent,
  jerryscript: startJerryScriptAgent,
  /** The agent's own SHA-256 and HMAC (what a board without a native hash verifies uploads with). */
  sha256: sha256,
  hmacSha256: hmacSha256,
};
