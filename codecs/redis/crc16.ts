/**
 * Redis Cluster key slots: CRC16-XMODEM of the key (or of its `{hash tag}`) modulo 16384.
 *
 * @module
 */

/** Number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

/** The part of `key` that is hashed: the first non-empty `{...}` section, else the whole key. */
export function hashTagOf(key: Uint8Array): Uint8Array {
  const open = key.indexOf(0x7b); // {
  if (open < 0) return key;
  const close = key.indexOf(0x7d, open + 1); // }
  if (close < 0 || close === open + 1) return key;
  return key.subarray(open + 1, close);
}

/** CRC16 (XMODEM) of `bytes`. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The cluster slot of `key` (hash tags honoured, as Redis does). */
export function slotOf(key: Uint8Array): number {
  return crc16(hashTagOf(key)) & (SLOT_COUNT - 1);
}
