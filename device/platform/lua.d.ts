// What platform/lua.lua defines that platform/js.ts defines for itself in TypeScript (the Lua build's extra
// declarations; the ES5 build compiles js.ts instead).

/** Math.floor bound once (JS: `const floor = Math.floor`; Lua: math.floor). */
declare const floor: (x: number) => number;
