/**
 * UTF-8 for the sans-IO core, whose lib (ES2023, no DOM) has no TextEncoder/TextDecoder.
 * Decoding is strict (RFC 3629 §3–4): overlong forms, surrogates, code points above U+10FFFF and
 * truncated sequences are rejected, so every accepted byte string has exactly one decoding and
 * every decoded string re-encodes to the same bytes — what canonical encodings need.
 */

const REPLACEMENT_CHARACTER = 0xfffd;

/** Whether `text` has no lone surrogate, i.e. it is a sequence of Unicode scalar values (ES2024 `isWellFormed`). */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff) return false; // a low surrogate without a high one before it
    const next = text.charCodeAt(i + 1); // NaN past the end
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** UTF-8 bytes of `text`. A lone surrogate becomes U+FFFD, as TextEncoder does; check `isWellFormed` first to refuse it instead. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  utf8Write(text, out, 0);
  return out;
}

/** How many bytes `utf8Encode(text)` returns, without encoding. */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3; // U+FFFD
    } else length += 3; // the rest of the BMP, U+FFFD for a lone low surrogate included
  }
  return length;
}

/** Write `utf8Encode(text)` into `out` at `offset` (room for `utf8Length(text)` bytes); returns the end offset. */
export function utf8Write(text: string, out: Uint8Array, offset: number): number {
  let length = offset;
  for (let i = 0; i < text.length; i++) {
    let point = text.charCodeAt(i);
    if (point < 0x80) {
      out[length++] = point;
      continue;
    }
    if (point >= 0xd800 && point <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (point <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        point = 0x10000 + ((point - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        point = REPLACEMENT_CHARACTER;
      }
    }
    if (point < 0x800) {
      out[length++] = 0xc0 | (point >> 6);
    } else if (point < 0x10000) {
      out[length++] = 0xe0 | (point >> 12);
      out[length++] = 0x80 | ((point >> 6) & 0x3f);
    } else {
      out[length++] = 0xf0 | (point >> 18);
      out[length++] = 0x80 | ((point >> 12) & 0x3f);
      out[length++] = 0x80 | ((point >> 6) & 0x3f);
    }
    out[length++] = 0x80 | (point & 0x3f);
  }
  return length;
}

/** The string encoded by `bytes`, or undefined unless `bytes` is well-formed UTF-8. */
export function utf8Decode(bytes: Uint8Array): string | undefined {
  const units: number[] = [];
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    let point: number;
    let count: number;
    let min: number;
    if (lead < 0x80) {
      point = lead;
      count = 0;
      min = 0;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      point = lead & 0x1f;
      count = 1;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      point = lead & 0x0f;
      count = 2;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      point = lead & 0x07;
      count = 3;
      min = 0x10000;
    } else {
      return undefined; // a continuation byte, C0/C1 (always overlong) or F5..FF (beyond U+10FFFF)
    }
    if (i + count >= bytes.length) return undefined; // truncated sequence
    for (let k = 1; k <= count; k++) {
      const next = bytes[i + k]!;
      if ((next & 0xc0) !== 0x80) return undefined;
      point = (point << 6) | (next & 0x3f);
    }
    if (point < min || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return undefined;
    i += count + 1;
    if (point < 0x10000) {
      units.push(point);
    } else {
      units.push(0xd800 + ((point - 0x10000) >> 10), 0xdc00 + ((point - 0x10000) & 0x3ff));
    }
    if (units.length >= 4096) {
      text += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return text + String.fromCharCode(...units);
}
