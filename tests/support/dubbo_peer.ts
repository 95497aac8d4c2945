/**
 * A real Dubbo peer over Deno TCP for end-to-end tests and benchmarks: a provider
 * ({@linkcode startDubboServer}) and a multiplexing consumer ({@linkcode DubboClient}). Bodies are
 * written and read by hessian.js, framing is done here (independently of `codecs/dubbo`), so the peer
 * checks the proxy rather than agreeing with it.
 *
 * Connections use manual read loops into one growable buffer and a coalescing write queue, with
 * TCP_NODELAY. Everything started is stopped by `close()` (timers included), so tests pass Deno's
 * sanitizers.
 *
 * @module
 */
import {
  decodeRequestBody,
  decodeResponseBody,
  encodeHeartbeat,
  encodeRequest,
  encodeResponse,
  hessianDecodeAll,
} from "./dubbo_frames.ts";
import { concatBytes } from "../../crds/bytes.ts";

const HEADER = 16;
/** Largest frame either side accepts (Dubbo's default payload limit is 8 MiB). */
const MAX_BODY = 16 * 1024 * 1024;
const FLAG_REQUEST = 0x80, FLAG_TWO_WAY = 0x40, FLAG_EVENT = 0x20;

/** A request as the provider received it. */
export interface ReceivedRequest {
  interface: string;
  method: string;
  version: string;
  args: unknown[];
  attachments: Record<string, unknown>;
  requestId: number | bigint;
  oneway: boolean;
}

/**
 * What the provider does with a request: `reply` (type 4 value, the default), `exception` (status 20,
 * type 3 business exception), `close` (drop the connection without replying), `silent` (never reply),
 * or `{ status, message }` (a non-20 status with one string body).
 */
export type RequestAction = "reply" | "exception" | "close" | "silent" | { status: number; message: string };

/** Options of {@linkcode startDubboServer}. */
export interface DubboServerOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  hostname?: string;
  /** Name put in every reply value: `"<method>(<first arg>) from <name>"`. */
  name: string;
  /** Delay before each reply, fixed or per request (replies then leave out of order). */
  delayMs?: number | ((req: ReceivedRequest) => number);
  /** Chooses the reaction per request (default: always `reply`). */
  onRequest?: (req: ReceivedRequest) => RequestAction;
}

/** A running provider. */
export interface DubboServer {
  readonly port: number;
  /** Every request received, in arrival order (heartbeats excluded). */
  readonly requests: ReceivedRequest[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Heartbeats answered so far. */
  readonly heartbeats: number;
  /** Stops listening, closes every connection and cancels pending replies. */
  close(): Promise<void>;
}

/** A decoded response. For a non-20 status, `value` is the error message and `type` is -1. */
export interface DubboResponse {
  status: number;
  type: number;
  value: unknown;
  attachments: Record<string, unknown>;
  requestId: number | bigint;
}

/** A call made by {@linkcode DubboClient.call}. */
export interface DubboCall {
  interface: string;
  method: string;
  args?: unknown[];
  attachments?: Record<string, unknown>;
  version?: string;
  /** Send with the two-way bit clear; the promise resolves once written, with status 0. */
  oneway?: boolean;
  /** Rejects after this long (default 10 s). */
  timeoutMs?: number;
}

/** Reads frames from `conn` until EOF, calling `onFrame` with a view valid only during the call. */
async function readFrames(conn: Deno.TcpConn, onFrame: (frame: Uint8Array) => void): Promise<void> {
  let buf = new Uint8Array(64 * 1024);
  let start = 0, end = 0;
  for (;;) {
    if (end === buf.length) {
      // Full: compact when the pending frame then fits, else grow to hold it (lengths were capped below).
      const held = end - start;
      const need = held >= HEADER ? HEADER + bodyLength(buf, start) : HEADER;
      if (start > 0 && need <= buf.length) buf.copyWithin(0, start, end);
      else {
        const next = new Uint8Array(Math.max(buf.length * 2, need));
        next.set(buf.subarray(start, end));
        buf = next;
      }
      start = 0;
      end = held;
    }
    let n: number | null;
    try {
      n = await conn.read(buf.subarray(end));
    } catch {
      return; // closed by us or reset by the peer: the loop just ends
    }
    if (n === null) return;
    end += n;
    while (end - start >= HEADER) {
      const length = bodyLength(buf, start);
      if (length < 0 || length > MAX_BODY) throw new Error(`Cannot read Dubbo frame: body length ${length}`);
      if (end - start < HEADER + length) break;
      onFrame(buf.subarray(start, start + HEADER + length));
      start += HEADER + length;
    }
    if (start === end) start = end = 0;
  }
}

function bodyLength(buf: Uint8Array, at: number): number {
  return (buf[at + 12] << 24) | (buf[at + 13] << 16) | (buf[at + 14] << 8) | buf[at + 15];
}

function readId(frame: Uint8Array): number | bigint {
  const view = new DataView(frame.buffer, frame.byteOffset, 16);
  const hi = view.getUint32(4);
  if (hi < 0x200000) return hi * 0x100000000 + view.getUint32(8); // < 2^53: a number, no BigInt
  return view.getBigUint64(4);
}

/** Serialises writes on one connection, coalescing what queues up while a write is in flight. */
class FrameWriter {
  #conn: Deno.TcpConn;
  #queue: Uint8Array[] = [];
  #pump: Promise<void> | undefined;
  #onError: () => void;

  constructor(conn: Deno.TcpConn, onError: () => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Queues `bytes`; the promise resolves once they (and everything queued before) are written. */
  write(bytes: Uint8Array): Promise<void> {
    this.#queue.push(bytes);
    this.#pump ??= this.#run().finally(() => this.#pump = undefined);
    return this.#pump;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const chunk = this.#queue.length === 1 ? this.#queue[0] : concatBytes(this.#queue);
        this.#queue = [];
        for (let off = 0; off < chunk.length;) off += await this.#conn.write(chunk.subarray(off));
      }
    } catch {
      this.#queue = [];
      this.#onError();
    }
  }
}

function closeQuietly(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Starts a Dubbo provider on loopback; see {@linkcode DubboServerOptions}. */
export function startDubboServer(options: DubboServerOptions): Promise<DubboServer> {
  const listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 });
  const requests: ReceivedRequest[] = [];
  const conns = new Set<Deno.TcpConn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const loops = new Set<Promise<void>>();
  let connections = 0, heartbeats = 0, closing = false;

  function respond(conn: Deno.TcpConn, writer: FrameWriter, req: ReceivedRequest): void {
    const action = options.onRequest?.(req) ?? "reply";
    if (action === "close") return closeQuietly(conn);
    if (req.oneway || action === "silent") return;
    const requestId = req.requestId;
    let bytes: Uint8Array;
    if (action === "exception") {
      bytes = encodeResponse({
        requestId,
        type: 3,
        errorMessage: `${req.method} failed in ${options.name}`,
        attachments: {},
      });
    } else if (typeof action === "object") {
      bytes = encodeResponse({ requestId, status: action.status, errorMessage: action.message });
    } else {
      const value = `${req.method}(${req.args[0]}) from ${options.name}`;
      bytes = encodeResponse({ requestId, type: 4, value, attachments: { server: options.name } });
    }
    const delay = typeof options.delayMs === "function" ? options.delayMs(req) : options.delayMs ?? 0;
    if (delay <= 0) return void writer.write(bytes);
    const timer = setTimeout(() => {
      timers.delete(timer);
      writer.write(bytes);
    }, delay);
    timers.add(timer);
  }

  async function serve(conn: Deno.TcpConn): Promise<void> {
    conn.setNoDelay(true);
    const writer = new FrameWriter(conn, () => closeQuietly(conn));
    try {
      await readFrames(conn, (frame) => {
        const flag = frame[2];
        const requestId = readId(frame);
        if ((flag & FLAG_REQUEST) === 0) return; // providers ignore responses
        if (flag & FLAG_EVENT) {
          heartbeats++;
          if (flag & FLAG_TWO_WAY) writer.write(encodeHeartbeat(requestId, true));
          return;
        }
        const body = decodeRequestBody(frame.slice(HEADER)); // a copy: args may be kept by tests
        const req: ReceivedRequest = {
          interface: body.interface,
          method: body.method,
          version: body.version,
          args: body.args,
          attachments: body.attachments,
          requestId,
          oneway: (flag & FLAG_TWO_WAY) === 0,
        };
        requests.push(req);
        respond(conn, writer, req);
      });
    } catch {
      // A malformed frame from the client: drop the connection, as a provider would.
    } finally {
      conns.delete(conn);
      closeQuietly(conn);
    }
  }

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (closing) {
        closeQuietly(conn);
        continue;
      }
      connections++;
      conns.add(conn);
      const loop = serve(conn).finally(() => loops.delete(loop));
      loops.add(loop);
    }
  })();

  return Promise.resolve({
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    get connections() {
      return connections;
    },
    get heartbeats() {
      return heartbeats;
    },
    async close() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      try {
        listener.close();
      } catch { /* closed */ }
      for (const conn of conns) closeQuietly(conn);
      await accepting;
      await Promise.all([...loops]);
    },
  });
}

interface Pending {
  resolve(response: DubboResponse): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A Dubbo consumer on one connection: many concurrent calls, matched by request id. */
export class DubboClient {
  #conn: Deno.TcpConn;
  #writer: FrameWriter;
  #pending = new Map<number | bigint, Pending>();
  #nextId = 1;
  #loop: Promise<void>;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    conn.setNoDelay(true);
    this.#writer = new FrameWriter(conn, () => this.close());
    this.#loop = readFrames(conn, (frame) => this.#onFrame(frame))
      .catch(() => {})
      .finally(() => this.#failAll("connection closed"));
  }

  /** Connects to a Dubbo provider (or a proxy listener). */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<DubboClient> {
    return new DubboClient(await Deno.connect({ hostname, port }));
  }

  /** Resolves when the connection has ended (closed by either side). */
  get closed(): Promise<void> {
    return this.#loop;
  }

  /** Calls a method; resolves with the response (oneway: once written, status 0). */
  call(call: DubboCall): Promise<DubboResponse> {
    const requestId = this.#nextId++;
    const bytes = encodeRequest({
      ...call,
      requestId,
      args: call.args ?? [],
      attachments: call.attachments ?? {},
    });
    if (call.oneway) {
      return this.#writer.write(bytes).then(() => ({
        status: 0,
        type: -1,
        value: undefined,
        attachments: {},
        requestId,
      }));
    }
    const response = this.expect(requestId, call.timeoutMs);
    this.#writer.write(bytes);
    return response;
  }

  /** Sends a heartbeat request and resolves on its response. */
  async heartbeat(timeoutMs?: number): Promise<void> {
    const requestId = this.#nextId++;
    const response = this.expect(requestId, timeoutMs);
    this.#writer.write(encodeHeartbeat(requestId));
    await response;
  }

  /** Registers interest in the response to `requestId` (for requests sent with {@linkcode sendRaw}). */
  expect(requestId: number | bigint, timeoutMs = 10_000): Promise<DubboResponse> {
    if (this.#closed) return Promise.reject(new Error("Cannot call Dubbo provider: connection closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new Error(`Cannot complete Dubbo call ${requestId}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
    });
  }

  /** Writes `bytes` as they are; resolves once written. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.#writer.write(bytes);
  }

  /** Closes the connection; pending calls reject. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#conn);
    }
    await this.#loop;
  }

  #onFrame(frame: Uint8Array): void {
    const requestId = readId(frame);
    const pending = this.#pending.get(requestId);
    if (!pending || (frame[2] & FLAG_REQUEST) !== 0) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    const status = frame[3];
    const body = frame.subarray(HEADER);
    if (frame[2] & FLAG_EVENT) {
      pending.resolve({ status, type: -1, value: null, attachments: {}, requestId });
    } else if (status !== 20) {
      const values = hessianDecodeAll(body);
      const message = values.findLast((v) => typeof v === "string") ?? values[0];
      pending.resolve({ status, type: -1, value: message, attachments: {}, requestId });
    } else {
      pending.resolve({ status, ...decodeResponseBody(body.slice()), requestId });
    }
  }

  #failAll(reason: string): void {
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`Cannot complete Dubbo call ${id}: ${reason}`));
    }
    this.#pending.clear();
  }
}
