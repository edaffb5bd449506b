/**
 * A minimal DER (ASN.1 Distinguished Encoding Rules) writer: the few types an X.509 certificate
 * needs, each returning its complete encoding (tag, length, content). Enough for
 * {@link ./certificates.ts}; not a general ASN.1 library.
 */

/** Universal and context-specific tags used by X.509. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

/** Length octets: short form below 128, else 0x80 + the number of length bytes, big-endian. */
function lengthOf(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: `tag`, then the length, then `content`. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOf(content.length), content]);
}

/** SEQUENCE of already encoded elements. */
export const sequence = (...items: Buffer[]): Buffer => tlv(TAG.sequence, Buffer.concat(items));

/** SET of already encoded elements (X.509 names hold one element per set, so no sorting is needed). */
export const set = (...items: Buffer[]): Buffer => tlv(TAG.set, Buffer.concat(items));

/** Explicitly tagged context-specific element `[n]` around an encoded element. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** Implicitly tagged primitive context-specific element `[n]` (e.g. a GeneralName's dNSName [2]). */
export const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** BOOLEAN (DER: true is 0xff). */
export const boolean = (value: boolean): Buffer => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));

/**
 * INTEGER from unsigned big-endian bytes: leading zero bytes dropped, one 0x00 added when the
 * high bit is set, so the value stays positive.
 */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(TAG.integer, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** A small non-negative INTEGER (a version number). */
export const smallInteger = (n: number): Buffer => unsignedInteger(Buffer.from([n]));

/** OBJECT IDENTIFIER from its dotted form, e.g. '2.5.4.3'. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) base128.unshift((rest & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** OCTET STRING. */
export const octetString = (content: Buffer): Buffer => tlv(TAG.octetString, content);

/** BIT STRING of whole bytes (a signature, a key). */
export const bitString = (content: Buffer): Buffer => tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), content]));

/**
 * BIT STRING of named bits (KeyUsage): bit 0 is the most significant bit of the first byte;
 * DER drops trailing zero bits and says how many bits of the last byte are unused.
 */
export function namedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] |= 0x80 >> (bit % 8);
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([7 - (highest % 8)]), bytes]));
}

/** UTF8String. */
export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), to the second. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050
    ? tlv(TAG.utcTime, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(TAG.generalizedTime, Buffer.from(`${digits}Z`, 'ascii'));
}
