/**
 * A toy length-prefixed protocol implementing the full codec contract, so proxy-core tests need no real
 * protocol. Wire layout (big-endian):
 *
 * | off | size | field |
 * | --- | ---- | ----- |
 * | 0 | 1 | magic 0xFA |
 * | 1 | 4 | total frame length (header included) |
 * | 5 | 1 | type: 0 request, 1 oneway, 2 response, 3 heartbeat, 4 error response |
 * | 6 | 4 | request id |
 * | 10 | 2 | metadata length M |
 * | 12 | M | `key=value;key=value` (UTF-8) |
 * | 12+M | … | payload |
 *
 * Also a fake server (`startFakeServer`) and client (`FakeClient`) speaking it.
 *
 * @module
 */
import type {
  Codec,
  CodecFactory,
  DecodeResult,
  EncodeResult,
  Frame,
  LocalError,
  MessageType,
} from "../../codecs/codec.ts";
import { registerCodec } from "../../codecs/registry.ts";

/** The name tests register the fake codec under. */
export const FAKE_CODEC = "metamesh.codec.fake";
/** The name of a non-multiplexable variant (one request per upstream connection). */
export const FAKE_CODEC_SERIAL = "metamesh.codec.fake_serial";
/** Largest frame accepted. */
export const FAKE_MAX_FRAME = 1024 * 1024;

const MAGIC = 0xfa;
const HEADER = 12;
const TYPES: MessageType[] = ["request", "oneway", "response", "heartbeat", "error"];
const te = new TextEncoder();
const td = new TextDecoder();

/** A message to build. */
export interface FakeMessage {
  type: MessageType;
  id: number;
  meta?: Record<string, string>;
  payload?: string;
}

/** Encodes a fake frame. */
export function fakeFrame(m: FakeMessage): Uint8Array {
  const meta = te.encode(Object.entries(m.meta ?? {}).map(([k, v]) => `${k}=${v}`).join(";"));
  const payload = te.encode(m.payload ?? "");
  const out = new Uint8Array(HEADER + meta.length + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = MAGIC;
  dv.setUint32(1, out.length);
  out[5] = TYPES.indexOf(m.type);
  dv.setUint32(6, m.id);
  dv.setUint16(10, meta.length);
  out.set(meta, HEADER);
  out.set(payload, HEADER + meta.length);
  return out;
}

/** Decodes one fake frame from the start of `input`. */
export function decodeFake(input: Uint8Array): DecodeResult {
  if (input.length < 5) return { kind: "need-more", atLeast: 5 };
  if (input[0] !== MAGIC) return { kind: "error", reason: `bad magic ${input[0]}` };
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const size = dv.getUint32(1);
  if (size < HEADER || size > FAKE_MAX_FRAME) return { kind: "error", reason: `bad frame size ${size}` };
  if (input.length < size) return { kind: "need-more", atLeast: size };
  const type = TYPES[input[5]];
  if (!type) return { kind: "error", reason: `bad type ${input[5]}` };
  const metaLen = dv.getUint16(10);
  if (HEADER + metaLen > size) return { kind: "error", reason: `bad metadata length ${metaLen}` };
  const metadata = new Map<string, string>();
  const text = td.decode(input.subarray(HEADER, HEADER + metaLen));
  for (const pair of text ? text.split(";") : []) {
    const eq = pair.indexOf("=");
    metadata.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const frame: Frame = {
    type,
    requestId: dv.getUint32(6),
    bytes: input.subarray(0, size),
    metadata,
    ok: type !== "error",
    operation: metadata.get("method") ?? "",
    private: { metaLen },
  };
  return { kind: "frame", frame, size };
}

/** Reads a frame's payload text. */
export function fakePayload(frame: Frame): string {
  const metaLen = new DataView(frame.bytes.buffer, frame.bytes.byteOffset).getUint16(10);
  return td.decode(frame.bytes.subarray(HEADER + metaLen));
}

class FakeCodec implements Codec {
  decode(input: Uint8Array): DecodeResult {
    return decodeFake(input);
  }
  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult {
    if (mutation.size === 0) return { kind: "bytes", bytes: frame.bytes };
    const meta: Record<string, string> = Object.fromEntries(frame.metadata);
    for (const [k, v] of mutation) meta[k] = v;
    const bytes = fakeFrame({
      type: frame.type,
      id: Number(frame.requestId),
      meta,
      payload: fakePayload(frame),
    });
    return { kind: "bytes", bytes };
  }
  setRequestId(_frame: Frame, bytes: Uint8Array, id: number | bigint): Uint8Array {
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(6, Number(id));
    return bytes;
  }
  localReply(request: Frame, error: LocalError): Uint8Array | null {
    if (request.type === "oneway") return null;
    return fakeFrame({
      type: "error",
      id: Number(request.requestId),
      meta: { error: error.kind, message: error.message },
    });
  }
  heartbeatReply(heartbeat: Frame): Uint8Array | null {
    return fakeFrame({ type: "heartbeat", id: Number(heartbeat.requestId), meta: { pong: "1" } });
  }
}

/** Registers {@linkcode FAKE_CODEC} (multiplexable) and {@linkcode FAKE_CODEC_SERIAL}. Idempotent. */
export function registerFakeCodec(): void {
  const make = (name: string, multiplexable: boolean): CodecFactory => ({
    name,
    multiplexable,
    create: () => new FakeCodec(),
  });
  registerCodec(FAKE_CODEC, () => make(FAKE_CODEC, true));
  registerCodec(FAKE_CODEC_SERIAL, () => make(FAKE_CODEC_SERIAL, false));
}

/** What the fake server saw for one request. */
export interface SeenRequest {
  id: number;
  type: MessageType;
  meta: Map<string, string>;
  payload: string;
  conn: number;
}

/** Options for {@linkcode startFakeServer}. */
export interface FakeServerOptions {
  /** Name echoed in responses as `server=<name>`. */
  name?: string;
  /** Delay before answering a request, ms (may differ per request to force out-of-order answers). */
  delayMs?: (req: SeenRequest) => number;
  /** Returns `"close"` to close the connection instead of answering, `"ignore"` to never answer. */
  behaviour?: (req: SeenRequest) => "answer" | "close" | "ignore";
}

/** A running fake server. */
export interface FakeServer {
  readonly port: number;
  readonly requests: SeenRequest[];
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** Starts a fake server on a free loopback port. Responses echo the payload and carry `server=<name>`. */
export function startFakeServer(opts: FakeServerOptions = {}): FakeServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: SeenRequest[] = [];
  const conns = new Set<Deno.Conn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const tasks: Promise<void>[] = [];
  let accepted = 0;
  const serve = async (conn: Deno.Conn, connNo: number) => {
    const buf = new Uint8Array(4 * 1024 * 1024);
    let len = 0;
    try {
      for (;;) {
        const n = await conn.read(buf.subarray(len));
        if (n === null) break;
        len += n;
        let off = 0;
        for (;;) {
          const r = decodeFake(buf.subarray(off, len));
          if (r.kind !== "frame") {
            if (r.kind === "error") throw new Error(r.reason);
            break;
          }
          off += r.size;
          const f = r.frame;
          const seen = {
            id: Number(f.requestId),
            type: f.type,
            meta: f.metadata,
            payload: fakePayload(f),
            conn: connNo,
          };
          requests.push(seen);
          if (f.type === "heartbeat") {
            await conn.write(fakeFrame({ type: "heartbeat", id: seen.id }));
            continue;
          }
          if (f.type !== "request") continue;
          const what = opts.behaviour?.(seen) ?? "answer";
          if (what === "ignore") continue;
          if (what === "close") {
            conn.close();
            conns.delete(conn);
            return;
          }
          const reply = fakeFrame({
            type: "response",
            id: seen.id,
            meta: { server: opts.name ?? "fake", ...(seen.meta.get("fail") ? {} : {}) },
            payload: seen.payload,
          });
          const delay = opts.delayMs?.(seen) ?? 0;
          if (delay <= 0) {
            await conn.write(reply);
          } else {
            const t = setTimeout(() => {
              timers.delete(t);
              conn.write(reply).catch(() => {});
            }, delay);
            timers.add(t);
          }
        }
        buf.copyWithin(0, off, len);
        len -= off;
      }
    } catch { /* connection gone */ }
    if (conns.delete(conn)) conn.close();
  };
  const acceptLoop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(serve(conn, accepted++));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    connections: () => accepted,
    async close() {
      listener.close();
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.close();
      conns.clear();
      await acceptLoop;
      await Promise.all(tasks);
    },
  };
}

/** A fake-protocol client with its own id counter; matches responses by id (any order). */
export class FakeClient {
  #conn: Deno.TcpConn;
  #nextId = 1;
  #waiting = new Map<number, (f: { frame: Frame; payload: string }) => void>();
  #loop: Promise<void>;
  #closed = false;
  /** Frames that matched no waiting call (e.g. heartbeat replies). */
  readonly unmatched: Frame[] = [];

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#loop = this.#read();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<FakeClient> {
    return new FakeClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends a request and resolves with the response frame (bytes copied) and its payload. */
  call(
    meta: Record<string, string>,
    payload = "",
    id = this.#nextId++,
  ): Promise<{ frame: Frame; payload: string }> {
    const p = new Promise<{ frame: Frame; payload: string }>((resolve) => this.#waiting.set(id, resolve));
    this.write(fakeFrame({ type: "request", id, meta, payload }));
    return p;
  }

  /** Resolves with the next frame carrying `id` (without sending anything). */
  expect(id: number): Promise<{ frame: Frame; payload: string }> {
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    this.#conn.write(bytes).catch(() => {});
  }

  /** Resolves when the server closed the connection. */
  get done(): Promise<void> {
    return this.#loop;
  }

  /** Closes the connection and waits for the reader. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
    await this.#loop;
  }

  async #read(): Promise<void> {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
        for (;;) {
          const r = decodeFake(buf);
          if (r.kind !== "frame") break;
          const frame = { ...r.frame, bytes: r.frame.bytes.slice() };
          buf = buf.subarray(r.size);
          const w = this.#waiting.get(Number(frame.requestId));
          if (w) {
            this.#waiting.delete(Number(frame.requestId));
            w({ frame, payload: fakePayload(frame) });
          } else {
            this.unmatched.push(frame);
          }
        }
      }
    } catch { /* closed */ }
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
  }
}
