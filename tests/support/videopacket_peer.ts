/**
 * A videopacket client and server written from the public packet layout (Aeraki's videopacket codec and
 * the videopacket-go package), independent of metamesh's codecs: STX 0x26, u32 big-endian length of the
 * whole packet, u8 version (1), 10 reserved bytes (reserved[1..2] = u16 big-endian command), the
 * VideoCommHeader bytes (JCE; opaque here), ETX 0x28. 17 bytes minimum. No request id: one call at a time.
 *
 * @module
 */
import { serveConnections } from "./net.ts";

/** Encodes a packet carrying `command` and the (opaque) VideoCommHeader bytes. */
export function encodeVideoPacket(command: number, commHeader: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(17 + commHeader.length);
  const view = new DataView(out.buffer);
  out[0] = 0x26;
  view.setUint32(1, out.length);
  out[5] = 0x01;
  view.setUint16(7, command);
  out.set(commHeader, 16);
  out[out.length - 1] = 0x28;
  return out;
}

/** A decoded packet. */
export interface VideoPacket {
  readonly command: number;
  readonly version: number;
  readonly commHeader: Uint8Array;
}

/** Length of the first whole packet in `b` (0 when incomplete); throws on a bad start or end byte. */
export function checkPacket(b: Uint8Array): number {
  if (b.length < 17) return 0;
  if (b[0] !== 0x26) throw new RangeError("Cannot read videopacket: bad STX");
  const len = new DataView(b.buffer, b.byteOffset).getUint32(1);
  if (b.length < len) return 0;
  if (len < 17 || b[len - 1] !== 0x28) throw new RangeError("Cannot read videopacket: bad length or ETX");
  return len;
}

/** Decodes one whole packet. */
export function decodeVideoPacket(b: Uint8Array): VideoPacket {
  const len = checkPacket(b);
  if (len === 0) throw new RangeError("Cannot decode videopacket: incomplete");
  return {
    command: new DataView(b.buffer, b.byteOffset).getUint16(7),
    version: b[5],
    commHeader: b.slice(16, len - 1),
  };
}

/** A running videopacket server: answers each packet with the same command and `name` as comm header. */
export interface VideoPacketServer {
  readonly port: number;
  readonly received: VideoPacket[];
  close(): Promise<void>;
}

/** Starts a server on a free loopback port. */
export function startVideoPacketServer(name: string): VideoPacketServer {
  const received: VideoPacket[] = [];
  const server = serveConnections(async (conn) => {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) break;
      const merged = new Uint8Array(buf.length + n);
      merged.set(buf);
      merged.set(chunk.subarray(0, n), buf.length);
      buf = merged;
      for (let len = checkPacket(buf); len > 0; len = checkPacket(buf)) {
        const packet = decodeVideoPacket(buf.subarray(0, len));
        received.push(packet);
        buf = buf.slice(len);
        await conn.write(encodeVideoPacket(packet.command, new TextEncoder().encode(name)));
      }
    }
  });
  return { port: server.port, received, close: () => server.close() };
}

/** Sends one packet on `conn` and reads one whole packet back. */
export async function callVideoPacket(
  conn: Deno.Conn,
  packet: Uint8Array,
  timeoutMs = 5000,
): Promise<VideoPacket> {
  await conn.write(packet);
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    for (;;) {
      const len = checkPacket(buf);
      if (len > 0) return decodeVideoPacket(buf.subarray(0, len));
      const n = await conn.read(chunk);
      if (n === null) throw new Error("Cannot read videopacket reply: connection closed");
      const merged = new Uint8Array(buf.length + n);
      merged.set(buf);
      merged.set(chunk.subarray(0, n), buf.length);
      buf = merged;
    }
  } finally {
    clearTimeout(timer);
  }
}
