// Builds the device runtime: tsc (target ES5, device/tsconfig.json) into one script, wrapped so that it
// defines a global `Morsel`, minified by esbuild; plus the same code as an Espruino module.
//   dist/device/morsel.es5.js       one minified ES5 file, global Morsel
//   dist/device/morsel.espruino.js  Espruino module: require("morsel").load(bytes)

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { transformSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'device');

export function buildDevice(): { es5: string; bytes: number } {
  execFileSync(process.execPath, [path.join(__dirname, "check-device-subset.js")], { stdio: "inherit" });
  const tmp = path.join(OUT, 'morsel.es5.tmp.js');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'device', 'tsconfig.json')], { stdio: 'inherit' });
  const code = fs.readFileSync(tmp, 'utf8');
  fs.rmSync(tmp);
  const wrapped = `(function (global) {\n${code}\nglobal.Morsel = Morsel;\n})(typeof globalThis !== "undefined" ? globalThis : this);\n`;
  const min = transformSync(wrapped, { minify: true, target: 'es5', legalComments: 'none' }).code;
  fs.mkdirSync(OUT, { recursive: true });
  const es5 = path.join(OUT, 'morsel.es5.js');
  fs.writeFileSync(es5, min);
  fs.writeFileSync(path.join(OUT, 'morsel.espruino.js'), transformSync(`(function(){${code}\nexports.load=Morsel.load;exports.version=Morsel.version;})();`, { minify: true, target: 'es5' }).code);
  return { es5, bytes: Buffer.byteLength(min) };
}

if (require.main === module) {
  const { es5, bytes } = buildDevice();
  console.log(`${path.relative(process.cwd(), es5)}: ${bytes.toLocaleString('en-US')} bytes minified (target ≤ 24,576)`);
}
