// The emulated board's flash: one directory, one file per Storage name. Small files are replaced by
// write-then-rename so the commit pointer survives a reset at any instant, as the agent requires.

import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../util/fs';

export class BoardStorage {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private file(name: string): string {
    if (!/^[A-Za-z0-9._-]{1,28}$/.test(name) || name.startsWith('.')) throw new Error(`bad storage name '${name}'`);
    return path.join(this.dir, name);
  }

  read(name: string): string | null {
    const f = this.file(name);
    return fs.existsSync(f) ? fs.readFileSync(f, 'latin1') : null;
  }

  readBytes(name: string): ArrayBuffer | null {
    const f = this.file(name);
    if (!fs.existsSync(f)) return null;
    const b = fs.readFileSync(f);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  }

  writeAt(name: string, bytes: string, offset: number, total: number): void {
    const f = this.file(name);
    if (offset + bytes.length > total) throw new Error(`write past the end of ${name}`);
    const fd = fs.openSync(f, fs.existsSync(f) ? 'r+' : 'w+');
    try {
      if (fs.fstatSync(fd).size !== total) fs.ftruncateSync(fd, total);
      fs.writeSync(fd, Buffer.from(bytes, 'latin1'), 0, bytes.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  }

  writeText(name: string, text: string): void {
    writeFileAtomic(this.file(name), Buffer.from(text, 'latin1'));
  }

  erase(name: string): void {
    fs.rmSync(this.file(name), { force: true });
  }

  bytesUsed(): number {
    return fs.readdirSync(this.dir).reduce((n, f) => n + fs.statSync(path.join(this.dir, f)).size, 0);
  }
}
