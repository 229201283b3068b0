// The device side of authenticated uploads (docs/protocol.md, "Authentication"; the host side is
// host/serial/auth.ts). The key is provisioned with the agent as the file FILE_KEY (64 hex digits) and never
// leaves the board; the nonce is the board's, kept in FILE_NONCE and replaced after every finished upload.

var FILE_KEY = 'morsel.key';
var FILE_NONCE = 'morsel.non';

/** The key file's 32 bytes, or null when the board was installed without one (or the file is damaged). */
function parseKeyHex(text: string | null): number[] | null {
  if (text === null) return null;
  var hex = '';
  for (var i = 0; i < text.length; i++) {
    var c = text.charAt(i);
    if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') hex += c;
  }
  hex = hex.toLowerCase();
  return isLowerHex(hex, 64) ? hexBytes(hex) : null;
}

/** s is exactly n lowercase hex digits (no regular expressions: the agent is also built to Lua, which has none). */
function isLowerHex(s: string, n: number): boolean {
  if (s.length !== n) return false;
  for (var i = 0; i < n; i++) if ('0123456789abcdef'.indexOf(s.charAt(i)) < 0) return false;
  return true;
}

function hexBytes(hex: string): number[] {
  var out: number[] = [];
  for (var i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.substr(i, 2), 16));
  return out;
}

/** 16 hex digits; it only has to differ from every nonce this board used before. */
function newNonce(): string {
  var s = '';
  for (var i = 0; i < 16; i++) s += '0123456789abcdef'.charAt(Math.floor(Math.random() * 16));
  return s;
}

/** label 0 deviceId 0 nonce 0 u32le size u32le crc, then `tail`: the bytes a tag signs. */
function authMessage(label: string, deviceId: string, nonce: string, size: number, crc: number, tail: number[]) {
  var text = label + '\u0000' + deviceId + '\u0000' + nonce + '\u0000';
  var m: number[] = [];
  for (var i = 0; i < text.length; i++) m.push(text.charCodeAt(i) % 256);
  var words = [size, crc];
  for (var w = 0; w < 2; w++) {
    var v = words[w];
    for (var k = 0; k < 4; k++) {
      m.push(v % 256);
      v = Math.floor(v / 256);
    }
  }
  for (var j = 0; j < tail.length; j++) m.push(tail[j]);
  return m;
}

/** Compares every byte whatever the first difference, so the time taken says nothing about the tag. */
function tagMatches(got: Uint8Array, at: number, expected: number[]): boolean {
  if (got.length - at !== TAG_BYTES) return false;
  var diff = 0;
  for (var i = 0; i < TAG_BYTES; i++) diff += got[at + i] === expected[i] ? 0 : 1;
  return diff === 0;
}
