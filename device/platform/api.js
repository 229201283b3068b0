// platform/api for the host: the device runtime's modules compiled by the host's tsc (CommonJS, dist/device/) and
// imported by host/blob/verify.ts, which loads every blob with the runtime itself. The ES5 implementation, and the
// constants the ES5 build fixes (tools/build-device.ts, ES5_DEFINES) as the globals the device sources read.
// The device builds never read this file: esbuild takes platform/js.ts, the Lua build platform/lua.lua.
globalThis.TRACING_JIT = false;
globalThis.ROUND_BY_FLOOR = false;
globalThis.ESPRUINO = false;
module.exports = require('./js');
