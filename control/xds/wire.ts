/**
 * Hand-written protobuf framing of SotW `DiscoveryResponse`s, so a snapshot's resources are serialised once
 * for all the streams that receive them: each resource is encoded once (at snapshot build) as its element of
 * the repeated `resources` field (`Any`), a type's full resource list is concatenated once per snapshot, and a
 * response is `version_info` + those bytes + `type_url` + the stream's own `nonce`.
 *
 * `DiscoveryResponse`: 1 version_info, 2 resources (repeated Any: 1 type_url, 2 value), 4 type_url, 5 nonce.
 *
 * @module
 */
import { Buffer } from "node:buffer";

const encoder = new TextEncoder();

/** Where one encoded `resources` element lives: `bytes[start, end)`, its `Any.value` from `valueAt`. */
export interface EntryBytes {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly valueAt: number;
}

// Entries are written into shared slabs rather than one ArrayBuffer each: an ArrayBuffer and its view cost
// ~200 bytes of heap, more than a typical resource's bytes. A slab lives while any entry in it does (a
// snapshot's payload takes its entries over, see `Snapshot.payload`).
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

function reserve(size: number): { bytes: Uint8Array; start: number } {
  if (size > SLAB_SIZE / 4) return { bytes: new Uint8Array(size), start: 0 };
  if (slabUsed + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const start = slabUsed;
  slabUsed += size;
  return { bytes: slab, start };
}

/** Encodes one `resources` element (`0x12 len Any{type_url, value}`) into slab memory. */
export function encodeResourceEntry(typeUrl: string, value: Uint8Array): EntryBytes {
  const url = encoder.encode(typeUrl);
  const anyLength = 1 + varintSize(url.length) + url.length + 1 + varintSize(value.length) + value.length;
  const size = 1 + varintSize(anyLength) + anyLength;
  const { bytes, start } = reserve(size);
  let at = start;
  bytes[at++] = 0x12;
  at = writeVarint(bytes, at, anyLength);
  bytes[at++] = 0x0a;
  at = writeVarint(bytes, at, url.length);
  bytes.set(url, at);
  at += url.length;
  bytes[at++] = 0x12;
  at = writeVarint(bytes, at, value.length);
  bytes.set(value, at);
  return { bytes, start, end: start + size, valueAt: at };
}

/**
 * A `DiscoveryResponse` as one gRPC length-prefixed message, in parts: the 5-byte gRPC prefix with
 * `version_info`, the shared `resources` bytes (not copied), then `type_url` and `nonce`.
 */
export function framedDiscoveryResponse(
  version: string,
  resources: Uint8Array,
  typeUrl: string,
  nonce: string,
): Uint8Array[] {
  const versionField = stringField(1, version);
  const tail = [stringField(4, typeUrl), stringField(5, nonce)];
  const length = versionField.length + resources.length + tail[0].length + tail[1].length;
  const head = new Uint8Array(5 + versionField.length);
  head[0] = 0; // not compressed
  new DataView(head.buffer).setUint32(1, length);
  head.set(versionField, 5);
  return [head, resources, ...tail];
}

/** A complete `DiscoveryResponse` from pre-encoded `resources` bytes. */
export function encodeDiscoveryResponse(
  version: string,
  resources: Uint8Array,
  typeUrl: string,
  nonce: string,
): Buffer {
  const head = stringField(1, version);
  const tail = [stringField(4, typeUrl), stringField(5, nonce)];
  const out = Buffer.allocUnsafe(head.length + resources.length + tail[0].length + tail[1].length);
  let at = 0;
  for (const part of [head, resources, ...tail]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function stringField(field: number, value: string): Uint8Array {
  if (!value) return new Uint8Array(0);
  const bytes = encoder.encode(value);
  const out = new Uint8Array(1 + varintSize(bytes.length) + bytes.length);
  out[0] = (field << 3) | 2;
  const at = writeVarint(out, 1, bytes.length);
  out.set(bytes, at);
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
