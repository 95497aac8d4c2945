/**
 * One pipelined connection to a Redis node. Requests from any number of clients are written in batches
 * and matched to replies in FIFO order (Redis answers in order on a connection). A failed connection
 * answers every pending request with an error and is never reused; the pool makes a new one.
 *
 * @module
 */
import { encodeCommand, errorValue } from "./encode.ts";
import { RespDecoder, RespProtocolError, RespType, type RespValue, textOf } from "./resp.ts";
import { FOUND, NEED_MORE, ScanRecord, scanReply } from "./scan.ts";
import { BatchWriter } from "./writer.ts";

/** A request in flight upstream. One object per client command (no closures on the hot path). */
export interface UpstreamRequest {
  /** The encoded command to send (and re-send on redirection). */
  readonly payload: Uint8Array;
  /** Redirections followed so far (MOVED/ASK), to bound loops. */
  redirects: number;
  onReply(reply: RespValue): void;
  /**
   * When present, non-error replies skip decoding and the sink: they arrive here as their exact bytes
   * (a view the connection never rewrites).
   */
  onRawReply?(bytes: Uint8Array): void;
}

/** `performance.now()` read once per synchronous batch of sends (the op-timeout clock). */
let batchNow = -1;
const resetBatchNow = (): void => void (batchNow = -1);
function sendTime(): number {
  if (batchNow < 0) {
    batchNow = performance.now();
    queueMicrotask(resetBatchNow);
  }
  return batchNow;
}

/** Receives each reply with the connection and request it belongs to (the cluster layer hooks MOVED/ASK here). */
export interface ReplySink {
  deliver(conn: UpstreamConn, request: UpstreamRequest, reply: RespValue): void;
  /** The connection is gone (failed or closed); `connectFailed` when it never connected. */
  connectionClosed(conn: UpstreamConn, connectFailed: boolean): void;
}

/** Options of an {@linkcode UpstreamConn}. */
export interface UpstreamConnOptions {
  readonly connectTimeoutMs: number;
  readonly authUsername?: string;
  readonly authPassword?: string;
  /** Send READONLY first (reads from Redis Cluster replicas). */
  readonly readOnly?: boolean;
  readonly holdBytes?: number;
  readonly holdMs?: number;
}

/** Replies are trusted more than requests but still capped: 1 GiB bulk, 16 Mi elements. */
const MAX_BULK = 1024 * 1024 * 1024;
const MAX_ARRAY = 16 * 1024 * 1024;
const REPLY_LIMITS = { maxBulkLength: MAX_BULK, maxArrayLength: MAX_ARRAY, inline: false };

/** Answers a setup command (AUTH, READONLY): an error reply fails the whole connection. */
class SetupRequest implements UpstreamRequest {
  redirects = 0;
  constructor(readonly payload: Uint8Array, readonly conn: UpstreamConn, readonly what: string) {}
  onReply(reply: RespValue): void {
    if (reply.type === RespType.ERROR) this.conn.close(`${this.what} failed: ${textOf(reply)}`);
  }
}

/** See the module doc. */
export class UpstreamConn {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  #conn: Deno.TcpConn | null = null;
  #writer: BatchWriter;
  #queue: (UpstreamRequest | undefined)[] = [];
  #sentAt: number[] = [];
  #head = 0;
  #closed = false;
  #connected = false;
  #sink: ReplySink;

  constructor(host: string, port: number, sink: ReplySink, options: UpstreamConnOptions) {
    this.host = host;
    this.port = port;
    this.address = `${host}:${port}`;
    this.#sink = sink;
    this.#writer = new BatchWriter(null, {
      holdBytes: options.holdBytes,
      holdMs: options.holdMs,
      onError: (e) => this.close(`write failed: ${e}`),
    });
    if (options.authPassword) {
      const args = options.authUsername
        ? ["AUTH", options.authUsername, options.authPassword]
        : ["AUTH", options.authPassword];
      this.send(new SetupRequest(encodeCommand(args), this, "AUTH"));
    }
    if (options.readOnly) this.send(new SetupRequest(encodeCommand(["READONLY"]), this, "READONLY"));
    void this.#run(options.connectTimeoutMs);
  }

  /** Requests awaiting a reply. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether the connection failed or was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Milliseconds since the oldest pending request was sent (0 when none). */
  oldestAgeMs(now: number): number {
    return this.#head < this.#sentAt.length ? now - this.#sentAt[this.#head] : 0;
  }

  /** Queues `request`; its reply (or a failure error) arrives through the sink / `onReply`. */
  send(request: UpstreamRequest): void {
    if (this.#closed) {
      request.onReply(errorValue(`ERR upstream failure: connection to ${this.address} is closed`));
      return;
    }
    this.#queue.push(request);
    this.#sentAt.push(sendTime());
    this.#writer.push(request.payload);
  }

  /** Fails every pending request with `reason` and closes the socket. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    const queue = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#sentAt = [];
    this.#head = 0;
    const error = errorValue(`ERR upstream failure: ${this.address}: ${reason}`);
    for (let i = head; i < queue.length; i++) queue[i]!.onReply(error);
    this.#sink.connectionClosed(this, !this.#connected);
  }

  async #run(connectTimeoutMs: number): Promise<void> {
    let conn: Deno.TcpConn;
    const timer = setTimeout(
      () => this.close(`connect timeout after ${connectTimeoutMs} ms`),
      connectTimeoutMs,
    );
    try {
      conn = await Deno.connect({ hostname: this.host, port: this.port });
    } catch (error) {
      clearTimeout(timer);
      this.close(`Cannot connect: ${error instanceof Error ? error.message : error}`);
      return;
    }
    clearTimeout(timer);
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#conn = conn;
    this.#connected = true;
    conn.setNoDelay(true);
    this.#writer.attach(conn);
    await this.#readLoop(conn);
  }

  async #readLoop(conn: Deno.TcpConn): Promise<void> {
    const decoder = new RespDecoder(REPLY_LIMITS);
    const scan = new ScanRecord();
    let reason = "connection closed by peer";
    try {
      for (;;) {
        const n = await conn.read(decoder.readTarget());
        if (n === null) break;
        decoder.commit(n);
        for (;;) {
          const head = this.#queue[this.#head];
          if (head?.onRawReply !== undefined && decoder.idle && decoder.start < decoder.end) {
            const found = scanReply(decoder.buffer, decoder.start, decoder.end, scan, MAX_BULK, MAX_ARRAY);
            if (found === NEED_MORE) break;
            if (found === FOUND) {
              const bytes = decoder.buffer.subarray(decoder.start, scan.end);
              decoder.skip(scan.end);
              if (scan.type === RespType.ERROR) {
                this.#dispatch({
                  type: RespType.ERROR,
                  raw: bytes,
                  data: bytes.subarray(1, bytes.length - 2),
                  items: null,
                });
              } else {
                this.#take();
                head.onRawReply(bytes);
              }
              continue;
            }
          }
          const value = decoder.next();
          if (value === null) break;
          if (value instanceof RespProtocolError) throw value;
          this.#dispatch(value);
        }
      }
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    this.close(reason);
  }

  #dispatch(value: RespValue): void {
    if (this.#head >= this.#queue.length) {
      if (!this.#closed) this.close("reply without a request");
      return;
    }
    this.#sink.deliver(this, this.#take(), value);
  }

  /** Removes and returns the oldest pending request (there must be one). */
  #take(): UpstreamRequest {
    const request = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#sentAt.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#sentAt = this.#sentAt.slice(this.#head);
      this.#head = 0;
    }
    return request;
  }
}
