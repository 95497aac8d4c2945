/**
 * A tRPC client and server written from the public frame description (trpc-group/trpc "tRPC protocol
 * design" and trpc.proto), independent of metamesh's codecs: a 16-byte big-endian fixed header (magic
 * 0x0930, data frame type, stream frame type, u32 total size, u16 protobuf header size, u32 stream id,
 * u8 protocol version, u8 reserved), the protobuf RequestProtocol/ResponseProtocol, then the payload.
 *
 * @module
 */
import { serveConnections } from "./net.ts";

/** A unary request as the client sends it. */
export interface TrpcRequest {
  readonly requestId: number;
  readonly caller?: string;
  readonly callee?: string;
  readonly func?: string;
  readonly callType?: number; // 0 unary, 1 oneway
  readonly timeout?: number;
  readonly transInfo?: Record<string, string>;
  readonly body?: Uint8Array;
}

/** A unary response as the server sends it. */
export interface TrpcResponse {
  readonly requestId: number;
  readonly ret?: number;
  readonly funcRet?: number;
  readonly errorMsg?: string;
  readonly transInfo?: Record<string, string>;
  readonly body?: Uint8Array;
}

/** A decoded frame: fixed header values and every protobuf header field (numbers, strings, maps). */
export interface TrpcFrame {
  readonly dataFrameType: number;
  readonly streamFrameType: number;
  readonly totalSize: number;
  readonly headerSize: number;
  readonly streamId: number;
  readonly fields: Map<number, number | string>;
  readonly transInfo: Map<string, string>;
  readonly body: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function pbVarint(num: number, value: number | undefined): number[] {
  return value ? [...varint(num << 3), ...varint(value)] : [];
}

function pbBytes(num: number, value: Uint8Array | string | undefined): number[] {
  const bytes = typeof value === "string" ? enc.encode(value) : value;
  return bytes && bytes.length > 0 ? [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes] : [];
}

function pbMap(num: number, map: Record<string, string> | undefined): number[] {
  const out: number[] = [];
  for (const [k, v] of Object.entries(map ?? {})) {
    out.push(...pbBytes(num, new Uint8Array([...pbBytes(1, k), ...pbBytes(2, v)])));
  }
  return out;
}

/** Frames a protobuf header and a payload with the 16-byte fixed header. */
export function frame(header: number[], body: Uint8Array = new Uint8Array(0), streamId = 0): Uint8Array {
  const out = new Uint8Array(16 + header.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0930);
  view.setUint32(4, out.length);
  view.setUint16(8, header.length);
  view.setUint32(10, streamId);
  out.set(header, 16);
  out.set(body, 16 + header.length);
  return out;
}

/** Encodes a unary request frame. */
export function encodeTrpcRequest(r: TrpcRequest): Uint8Array {
  const header = [
    ...pbVarint(2, r.callType),
    ...pbVarint(3, r.requestId),
    ...pbVarint(4, r.timeout),
    ...pbBytes(5, r.caller),
    ...pbBytes(6, r.callee),
    ...pbBytes(7, r.func),
    ...pbMap(9, r.transInfo),
  ];
  return frame(header, r.body);
}

/** Encodes a unary response frame. */
export function encodeTrpcResponse(r: TrpcResponse): Uint8Array {
  const header = [
    ...pbVarint(3, r.requestId),
    ...pbVarint(4, r.ret),
    ...pbVarint(5, r.funcRet),
    ...pbBytes(6, r.errorMsg),
    ...pbMap(8, r.transInfo),
  ];
  return frame(header, r.body);
}

function readVarint(b: Uint8Array, at: { pos: number }): number {
  let v = 0n, shift = 0n;
  for (;;) {
    const byte = b[at.pos++];
    if (byte === undefined) throw new RangeError("Cannot read varint: end of header");
    v |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return Number(BigInt.asIntN(64, v) < 0n ? BigInt.asIntN(32, v) : v);
    shift += 7n;
  }
}

/** Total frame size when `b` starts with a whole fixed header, else 0. */
export function frameSize(b: Uint8Array): number {
  return b.length < 16 ? 0 : new DataView(b.buffer, b.byteOffset).getUint32(4);
}

/** Decodes one whole frame; `mapField` is 9 for requests, 8 for responses. */
export function decodeTrpcFrame(b: Uint8Array, mapField: number): TrpcFrame {
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  if (view.getUint16(0) !== 0x0930) throw new RangeError("Cannot decode tRPC frame: bad magic");
  const totalSize = view.getUint32(4), headerSize = view.getUint16(8);
  const fields = new Map<number, number | string>();
  const transInfo = new Map<string, string>();
  const at = { pos: 16 };
  while (at.pos < 16 + headerSize) {
    const tag = readVarint(b, at);
    const num = tag >>> 3;
    if ((tag & 7) === 0) fields.set(num, readVarint(b, at));
    else {
      const len = readVarint(b, at);
      const bytes = b.subarray(at.pos, at.pos + len);
      at.pos += len;
      if (num === mapField) {
        const e = { pos: 0 };
        let key = "", value = "";
        while (e.pos < bytes.length) {
          const t = readVarint(bytes, e);
          const l = readVarint(bytes, e);
          const s = dec.decode(bytes.subarray(e.pos, e.pos + l));
          e.pos += l;
          if (t === 0x0a) key = s;
          else value = s;
        }
        transInfo.set(key, value);
      } else fields.set(num, dec.decode(bytes));
    }
  }
  return {
    dataFrameType: b[2],
    streamFrameType: b[3],
    totalSize,
    headerSize,
    streamId: view.getUint32(10),
    fields,
    transInfo,
    body: b.slice(16 + headerSize, totalSize),
  };
}

/** Splits whole frames off a byte stream. */
class Framer {
  #buf = new Uint8Array(0);
  push(chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    const out: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      const size = frameSize(merged.subarray(at));
      if (size === 0 || merged.length - at < size) break;
      out.push(merged.slice(at, at + size));
      at += size;
    }
    this.#buf = merged.slice(at);
    return out;
  }
}

/** A running tRPC server: answers every unary request with the request's body and its own name. */
export interface TrpcServer {
  readonly port: number;
  /** Requests received, decoded. */
  readonly requests: TrpcFrame[];
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 (free port). Each response echoes the request id and body, and carries
 * trans_info `server` = `name`.
 */
export function startTrpcServer(name: string): TrpcServer {
  const requests: TrpcFrame[] = [];
  const server = serveConnections(async (conn) => {
    const framer = new Framer();
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (const f of framer.push(buf.subarray(0, n))) {
        const req = decodeTrpcFrame(f, 9);
        requests.push(req);
        if (req.fields.get(2) === 1) continue; // oneway
        const reply = encodeTrpcResponse({
          requestId: Number(req.fields.get(3) ?? 0),
          transInfo: { server: name },
          body: req.body,
        });
        await conn.write(reply);
      }
    }
  });
  return { port: server.port, requests, close: () => server.close() };
}

/** A tRPC client on one connection; responses are matched by request id (any order). */
export class TrpcClient {
  #conn: Deno.Conn;
  #pending = new Map<number, (f: TrpcFrame) => void>();
  #reading: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<TrpcClient> {
    return new TrpcClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #read(): Promise<void> {
    const framer = new Framer();
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const f of framer.push(buf.subarray(0, n))) {
          const res = decodeTrpcFrame(f, 8);
          const id = Number(res.fields.get(3) ?? 0);
          this.#pending.get(id)?.(res);
          this.#pending.delete(id);
        }
      }
    } catch { /* closed */ }
  }

  /** Sends `req` and resolves with its response (rejects after `timeoutMs`). */
  call(req: TrpcRequest, timeoutMs = 5000): Promise<TrpcFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(req.requestId);
        reject(new Error(`Cannot get tRPC response ${req.requestId}: timeout`));
      }, timeoutMs);
      this.#pending.set(req.requestId, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.#conn.write(encodeTrpcRequest(req)).catch(reject);
    });
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}
