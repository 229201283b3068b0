// The agent bundle's one global.
var MorselAgentApi = {
  version: AGENT_VERSION,
  emulator: startEmulatorAgent,
  espruino: startEspruinoAgent,
  jerryscript: startJerryScriptAgent,
};
