/**
 * A brpc `baidu_std` client and server over Deno TCP, written from the public protocol description
 * (brpc docs "baidu_std" and `baidu_rpc_meta.proto`), independent of the codec under test: a frame is
 * `"PRPC"`, u32 BE body size, u32 BE meta size, then the RpcMeta protobuf, the payload and the attachment.
 * Payloads are opaque bytes (strings here). The server answers `<name>:<payload>`; the client pipelines
 * calls and matches responses by `correlation_id`.
 *
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Protobuf values of one message: field number → raw values (varints as bigint, bytes as arrays). */
type Fields = Map<number, (bigint | Uint8Array)[]>;

function varintBytes(v: bigint): number[] {
  v = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** Encodes a message from `[field, value]` pairs (number/bigint → varint; string/bytes → length-delimited). */
export function pbEncode(items: readonly [number, number | bigint | string | Uint8Array][]): Uint8Array {
  const out: number[] = [];
  for (const [field, value] of items) {
    if (typeof value === "number" || typeof value === "bigint") {
      out.push(...varintBytes(BigInt(field * 8)), ...varintBytes(BigInt(value)));
    } else {
      const bytes = typeof value === "string" ? enc.encode(value) : value;
      out.push(...varintBytes(BigInt(field * 8 + 2)), ...varintBytes(BigInt(bytes.length)), ...bytes);
    }
  }
  return Uint8Array.from(out);
}

/** Decodes a message into raw fields; throws on malformed input. */
export function pbDecode(b: Uint8Array): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const readVar = (): bigint => {
    let v = 0n;
    for (let shift = 0n;; shift += 7n) {
      if (at >= b.length || shift > 63n) throw new Error("Cannot decode protobuf: varint is cut");
      const byte = b[at++];
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, v);
    }
  };
  while (at < b.length) {
    const key = Number(readVar());
    const field = key >> 3;
    let value: bigint | Uint8Array;
    if ((key & 7) === 0) value = readVar();
    else if ((key & 7) === 2) {
      const n = Number(readVar());
      if (at + n > b.length) throw new Error("Cannot decode protobuf: bytes are cut");
      value = b.slice(at, at + n);
      at += n;
    } else throw new Error(`Cannot decode protobuf: wire type ${key & 7} is not used by RpcMeta`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

function str(f: Fields, n: number): string {
  const v = f.get(n)?.at(-1);
  return v instanceof Uint8Array ? dec.decode(v) : "";
}

function num(f: Fields, n: number): bigint {
  const v = f.get(n)?.at(-1);
  return typeof v === "bigint" ? v : 0n;
}

/** One decoded baidu_std message. */
export interface BrpcMessage {
  /** Raw RpcMeta fields. */
  meta: Fields;
  payload: Uint8Array;
  attachment: Uint8Array;
}

/** Builds a frame from an encoded RpcMeta, a payload and an attachment. */
export function frame(
  meta: Uint8Array,
  payload: Uint8Array,
  attachment: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const body = meta.length + payload.length + attachment.length;
  const out = new Uint8Array(12 + body);
  out.set(enc.encode("PRPC"));
  new DataView(out.buffer).setUint32(4, body);
  new DataView(out.buffer).setUint32(8, meta.length);
  out.set(meta, 12);
  out.set(payload, 12 + meta.length);
  out.set(attachment, 12 + meta.length + payload.length);
  return out;
}

/** Reads frames from `conn` until it closes, calling `onMessage` for each. */
async function readFrames(conn: Deno.Conn, onMessage: (m: BrpcMessage) => void): Promise<void> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch {
      return;
    }
    if (n === null) return;
    const grown = new Uint8Array(buf.length + n);
    grown.set(buf);
    grown.set(chunk.subarray(0, n), buf.length);
    buf = grown;
    while (buf.length >= 12) {
      if (dec.decode(buf.subarray(0, 4)) !== "PRPC") throw new Error("Cannot read brpc frame: bad magic");
      const view = new DataView(buf.buffer, buf.byteOffset);
      const body = view.getUint32(4);
      const metaSize = view.getUint32(8);
      if (buf.length < 12 + body) break;
      const meta = pbDecode(buf.subarray(12, 12 + metaSize));
      const att = Number(num(meta, 5));
      const end = 12 + body;
      onMessage({
        meta,
        payload: buf.slice(12 + metaSize, end - att),
        attachment: buf.slice(end - att, end),
      });
      buf = buf.subarray(end);
    }
  }
}

/** A call the server received. */
export interface ServerCall {
  service: string;
  method: string;
  payload: string;
  correlationId: bigint;
  /** `user_fields` of the request meta. */
  userFields: Record<string, string>;
  /** The local port of the server connection it arrived on. */
  remotePort: number;
}

/** A running brpc server. */
export interface BrpcServer {
  readonly port: number;
  readonly calls: ServerCall[];
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1:`port` (0 = free port). Every method of every service echoes
 * `<name>:<payload>` (attachment echoed back), except method `Fail`, which answers error 2001
 * (EINTERNAL) with text `<name> failed`. With `delayMs`, answers wait that long (out-of-order tests).
 */
export function startBrpcServer(
  options: { name: string; port?: number; delayMs?: (payload: string) => number },
): BrpcServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const conns = new Set<Deno.Conn>();
  const calls: ServerCall[] = [];
  const tasks: Promise<void>[] = [];
  const server: BrpcServer = {
    port: (listener.addr as Deno.NetAddr).port,
    calls,
    connections: 0,
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.allSettled(tasks);
    },
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    server.connections++;
    const remotePort = (conn.remoteAddr as Deno.NetAddr).port;
    const pending: Promise<unknown>[] = [];
    await readFrames(conn, (m) => {
      const request = pbDecode((m.meta.get(1)?.at(-1) as Uint8Array) ?? new Uint8Array(0));
      const userFields: Record<string, string> = {};
      for (const e of m.meta.get(9) ?? []) {
        const entry = pbDecode(e as Uint8Array);
        userFields[str(entry, 1)] = str(entry, 2);
      }
      const call: ServerCall = {
        service: str(request, 1),
        method: str(request, 2),
        payload: dec.decode(m.payload),
        correlationId: num(m.meta, 4),
        userFields,
        remotePort,
      };
      calls.push(call);
      const failed = call.method === "Fail";
      const response = failed ? pbEncode([[1, 2001], [2, `${options.name} failed`]]) : pbEncode([[1, 0]]);
      const payload = failed ? new Uint8Array(0) : enc.encode(`${options.name}:${call.payload}`);
      const meta = pbEncode([[2, response], [4, call.correlationId], [5, failed ? 0 : m.attachment.length]]);
      const bytes = frame(meta, payload, failed ? undefined : m.attachment);
      const delay = options.delayMs?.(call.payload) ?? 0;
      pending.push(
        new Promise((r) => setTimeout(r, delay)).then(() => conn.write(bytes)).catch(() => {}),
      );
    }).catch(() => {});
    await Promise.allSettled(pending);
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  tasks.push((async () => {
    try {
      for await (const conn of listener) tasks.push(serve(conn));
    } catch { /* listener closed */ }
  })());
  return server;
}

/** The outcome of one call. */
export interface BrpcResult {
  errorCode: number;
  errorText: string;
  payload: string;
  attachment: string;
  correlationId: bigint;
}

/** A connected client. */
export interface BrpcClient {
  /** Calls `service.method(payload)`; resolves with the response (errors are results, not rejections). */
  call(
    service: string,
    method: string,
    payload: string,
    options?: { attachment?: string; userFields?: Record<string, string>; correlationId?: bigint },
  ): Promise<BrpcResult>;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  /** Writes raw bytes (malformed-input tests). */
  writeRaw(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Connects a client to 127.0.0.1:`port`. Pending calls reject when the connection closes. */
export async function connectBrpcClient(port: number): Promise<BrpcClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const pending = new Map<bigint, { ok: (r: BrpcResult) => void; fail: (e: Error) => void }>();
  let next = 1n;
  const closed = readFrames(conn, (m) => {
    const id = num(m.meta, 4);
    const response = pbDecode((m.meta.get(2)?.at(-1) as Uint8Array) ?? new Uint8Array(0));
    const waiter = pending.get(id);
    if (!waiter) throw new Error(`Cannot match brpc response: unknown correlation_id ${id}`);
    pending.delete(id);
    waiter.ok({
      errorCode: Number(BigInt.asIntN(32, num(response, 1))),
      errorText: str(response, 2),
      payload: dec.decode(m.payload),
      attachment: dec.decode(m.attachment),
      correlationId: id,
    });
  }).catch(() => {}).finally(() => {
    for (const w of pending.values()) w.fail(new Error("Cannot finish brpc call: connection closed"));
    pending.clear();
  });
  return {
    call(service, method, payload, options = {}) {
      const id = options.correlationId ?? next++;
      const attachment = enc.encode(options.attachment ?? "");
      const items: [number, number | bigint | string | Uint8Array][] = [
        [1, pbEncode([[1, service], [2, method], [3, 7], [8, 1000]])],
        [4, id],
      ];
      if (attachment.length > 0) items.push([5, attachment.length]);
      for (const [k, v] of Object.entries(options.userFields ?? {})) {
        items.push([9, pbEncode([[1, k], [2, v]])]);
      }
      const bytes = frame(pbEncode(items), enc.encode(payload), attachment);
      return new Promise<BrpcResult>((ok, fail) => {
        pending.set(id, { ok, fail });
        conn.write(bytes).catch((e) => {
          pending.delete(id);
          fail(e);
        });
      });
    },
    closed,
    writeRaw: async (bytes) => void await conn.write(bytes),
    async close() {
      try {
        conn.close();
      } catch { /* closed */ }
      await closed;
    },
  };
}
