/**
 * What key hashes are computed over, so that two different strings never
 * hash alike. Hashing a string directly encodes it as UTF-8, which replaces
 * every lone surrogate by U+FFFD: keys differing only there would collide.
 * Well-formed text keeps its UTF-8 bytes (so its hashes stay what they
 * were); text with a lone surrogate is hashed as 0xFF followed by its exact
 * UTF-16 code units, and 0xFF never occurs in UTF-8, so the two forms never meet.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const ILL_FORMED_MARK = Buffer.from([0xff]);

export function exactTextBytes(text: string): string | Buffer {
  return LONE_SURROGATE.test(text) ? Buffer.concat([ILL_FORMED_MARK, Buffer.from(text, 'utf16le')]) : text;
}
