/**
 * The toy description and frame builder shared by toy_test.ts, description_test.ts and the fuzzers.
 *
 * @module
 */

/** A description using what trpc.yaml and videopacket.yaml do not. */
export const TOY = `
name: toy
endian: little
header_size: 14
magic: [{ offset: 0, hex: "7e" }]
fields:
  - { name: flags, offset: 1, type: u8 }
  - { name: id, offset: 2, type: u64 }
  - { name: body_len, offset: 10, type: u32 }
length: { field: body_len, counts: after_field }
limits: { max_frame_size: 4096, max_entries: 8 }
direction: { field: flags, mask: 0x80, request: 0x80 }
sections:
  - { name: service, size: { prefix: varint }, format: string }
  - name: attrs
    size: { prefix: u16 }
    format: kv_list
    kv: { count: u8, key_length: u8, value_length: varint }
request_id: { from: id }
message_kind:
  - { when: { flags: { mask: 0x20, equals: 0x20 } }, kind: heartbeat }
  - { direction: request, when: { flags: { mask: 0x40, equals: 0 } }, kind: oneway }
  - { direction: response, when: { flags: { mask: 0x01, equals: 1 } }, kind: error }
response_ok: { flags: { mask: 0x01, equals: 0 } }
metadata:
  - { key: service, from: service }
  - { key: flags, from: flags }
  - { entries: attrs, prefix: "attr." }
operation: [service]
mutation: { entries: attrs }
error_reply:
  codes: { default: 1 }
  header: { flags: 0x01 }
  copy: [id]
  sections: { service: [{ from: $message }] }
heartbeat_reply:
  header: { flags: 0x20 }
  copy: [id]
`;

const enc = new TextEncoder();

/** Builds a toy frame. */
export function toyFrame(flags: number, id: bigint, service: string, attrs: [string, string][]): Uint8Array {
  const kv: number[] = [attrs.length];
  for (const [k, v] of attrs) kv.push(k.length, ...enc.encode(k), v.length, ...enc.encode(v));
  const body = [enc.encode(service).length, ...enc.encode(service), kv.length & 0xff, kv.length >> 8, ...kv];
  const out = new Uint8Array(14 + body.length);
  const view = new DataView(out.buffer);
  out[0] = 0x7e;
  out[1] = flags;
  view.setBigUint64(2, id, true);
  view.setUint32(10, body.length, true);
  out.set(body, 14);
  return out;
}
