/**
 * One client connection: reads pipelined commands, answers the proxy's own commands (PING, AUTH,
 * HELLO, SELECT...), applies faults, hands the rest to the dispatcher, and writes replies in request
 * order, one write per batch. Bad bytes get a protocol error reply and close this connection only.
 *
 * @module
 */
import { commandAt, commandInfo, Kind, lowerName } from "./commands.ts";
import type { Fault } from "./config.ts";
import type { Dispatcher } from "./dispatch.ts";
import { encodeArray, encodeBulk, encodeError, encodeInteger, NULL_BULK, OK, PONG } from "./encode.ts";
import { latin1, RespDecoder, type RespLimits, RespProtocolError, RespType, type RespValue } from "./resp.ts";
import { DEFAULT_MAX_ARRAY_LENGTH, DEFAULT_MAX_BULK_LENGTH } from "./resp.ts";
import { FOUND, NEED_MORE, scanCommand, ScanRecord, SLOW } from "./scan.ts";
import { Slot, type SlotOwner } from "./slot.ts";
import { BatchWriter } from "./writer.ts";

/** Stop reading a client whose unwritten replies exceed this (a slow reader must not grow memory). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** What a session needs from its filter. */
export interface SessionContext {
  readonly dispatcher: Dispatcher;
  readonly limits: RespLimits;
  readonly passwords: readonly string[];
  readonly username: string;
  /** The fault to apply to a command, if any. */
  pickFault(name: string): Fault | undefined;
  /** Counts a protocol error (stats). */
  protocolError(): void;
}

let nextClientId = 1;

/** See the module doc. */
export class Session implements SlotOwner {
  readonly #conn: Deno.Conn;
  readonly #ctx: SessionContext;
  readonly #writer: BatchWriter;
  readonly #id = nextClientId++;
  #queue: Slot[] = [];
  #head = 0;
  #authed: boolean;
  #closing = false;
  #name: Uint8Array | null = null;
  #drainWaiter: (() => void) | null = null;

  constructor(conn: Deno.Conn, ctx: SessionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#authed = ctx.passwords.length === 0;
    this.#writer = new BatchWriter(conn, { onError: () => this.#close() });
  }

  /** Serves the connection until it closes. */
  async run(): Promise<void> {
    const decoder = new RespDecoder({ ...this.#ctx.limits, inline: true });
    const scan = new ScanRecord();
    const maxBulk = this.#ctx.limits.maxBulkLength ?? DEFAULT_MAX_BULK_LENGTH;
    const maxArray = this.#ctx.limits.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
    try {
      (this.#conn as Deno.TcpConn).setNoDelay?.(true);
    } catch { /* not TCP */ }
    try {
      while (!this.#closing) {
        const n = await this.#conn.read(decoder.readTarget());
        if (n === null) break;
        decoder.commit(n);
        for (;;) {
          let value: RespValue | RespProtocolError | null;
          const found = decoder.idle && decoder.start < decoder.end
            ? scanCommand(decoder.buffer, decoder.start, decoder.end, scan, maxBulk, maxArray)
            : SLOW;
          if (found === NEED_MORE) break;
          if (found === FOUND) {
            const buf = decoder.buffer;
            const start = decoder.start;
            decoder.skip(scan.end);
            if (this.#fast(buf, start, scan)) {
              if (this.#closing) break;
              continue;
            }
            value = decodeCommand(buf.subarray(start, scan.end), this.#ctx.limits);
          } else {
            value = decoder.next();
          }
          if (value === null) break;
          if (value instanceof RespProtocolError) {
            this.#ctx.protocolError();
            this.#local(encodeError(`ERR Protocol error: ${value.message}`));
            this.#closing = true;
            break;
          }
          this.#command(value);
          if (this.#closing) break;
        }
        if (this.#writer.pendingBytes > HIGH_WATER_BYTES) await this.#writer.drained();
      }
    } catch { /* reset by peer or closed */ }
    if (this.#closing) await this.#drain();
    this.#close();
  }

  /** Stops reading: the connection closes once its queued replies are written. */
  shutdown(): void {
    this.#closing = true;
    if (this.#head === this.#queue.length && this.#writer.pendingBytes === 0) this.#close();
  }

  /** Closes the connection now. */
  abort(): void {
    this.#close();
  }

  /** Waits until every queued reply is written (bounded by the op timeout of upstream requests). */
  async #drain(): Promise<void> {
    if (this.#head < this.#queue.length) await new Promise<void>((resolve) => (this.#drainWaiter = resolve));
    await this.#writer.drained();
  }

  #close(): void {
    this.#closing = true;
    this.#writer.close();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#drainWaiter?.();
  }

  slotDone(slot: Slot): void {
    const queue = this.#queue;
    if (queue[this.#head] !== slot) return;
    while (this.#head < queue.length && queue[this.#head].reply !== null) {
      this.#writer.push(queue[this.#head].reply!);
      this.#head++;
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
      this.#drainWaiter?.();
      if (this.#closing) void this.#writer.drained().then(() => this.#close());
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #newSlot(): Slot {
    const slot = new Slot(this);
    this.#queue.push(slot);
    return slot;
  }

  /** A reply known now: written directly when nothing is ahead of it. */
  #local(bytes: Uint8Array): void {
    if (this.#head === this.#queue.length) this.#writer.push(bytes);
    else this.#newSlot().complete(bytes);
  }

  /**
   * The fast path: an authenticated single-key command whose key goes upstream unchanged is forwarded
   * as its original bytes, with no value built. False when the command needs the full path.
   */
  #fast(buf: Uint8Array, start: number, scan: ScanRecord): boolean {
    const command = commandAt(buf, scan.nameStart, scan.nameEnd);
    if (command === undefined || command.info.kind !== Kind.SIMPLE || scan.argc < 2 || !this.#authed) {
      return false;
    }
    const key = buf.subarray(scan.keyStart, scan.keyEnd);
    const route = this.#ctx.dispatcher.plainRoute(key);
    if (route === undefined) return false;
    const { name, info } = command;
    const fault = this.#ctx.pickFault(name);
    if (fault?.type === "ERROR") {
      this.#local(encodeError("ERR Fault Injected: Error"));
      return true;
    }
    const slot = this.#newSlot();
    const raw = buf.subarray(start, scan.end);
    const dispatcher = this.#ctx.dispatcher;
    if (fault?.type === "DELAY") {
      setTimeout(() => dispatcher.sendPlain(slot, info, route, key, raw), fault.delayMs);
    } else {
      dispatcher.sendPlain(slot, info, route, key, raw);
    }
    return true;
  }

  #command(value: RespValue): void {
    const items = value.items;
    if (value.type !== RespType.ARRAY || items === null || items.length === 0) {
      return this.#local(encodeError("ERR Protocol error: expected an array of bulk strings"));
    }
    for (const item of items) {
      if (item.type !== RespType.BULK || item.data === null) {
        return this.#local(encodeError("ERR Protocol error: expected an array of bulk strings"));
      }
    }
    const name = lowerName(items[0].data!);
    const info = commandInfo(name);
    if (!this.#authed && name !== "auth" && name !== "hello" && name !== "quit") {
      return this.#local(encodeError("NOAUTH Authentication required."));
    }
    if (info.kind === Kind.LOCAL) return this.#answer(name, items);
    if (info.kind === Kind.UNSUPPORTED) {
      return this.#local(encodeError(`ERR unsupported command '${name}': ${info.reason} cannot be proxied`));
    }
    const fault = this.#ctx.pickFault(name);
    if (fault?.type === "ERROR") return this.#local(encodeError("ERR Fault Injected: Error"));
    const slot = this.#newSlot();
    if (fault?.type === "DELAY") {
      setTimeout(() => this.#ctx.dispatcher.dispatch(slot, info, name, items, value.raw), fault.delayMs);
    } else {
      this.#ctx.dispatcher.dispatch(slot, info, name, items, value.raw);
    }
  }

  /** Commands the proxy answers itself. */
  #answer(name: string, items: RespValue[]): void {
    const arg = (i: number): string => latin1(items[i].data!);
    switch (name) {
      case "ping":
        return this.#local(items.length > 1 ? encodeBulk(items[1].data) : PONG);
      case "echo":
        return this.#local(items.length === 2 ? encodeBulk(items[1].data) : arity(name));
      case "quit":
        this.#local(OK);
        this.#closing = true;
        return;
      case "select":
        return this.#local(
          items.length !== 2
            ? arity(name)
            : arg(1) === "0"
            ? OK
            : encodeError("ERR DB index is out of range"),
        );
      case "readonly":
      case "readwrite":
        return this.#local(OK);
      case "command":
        return this.#local(encodeArray([]));
      case "auth":
        if (items.length < 2 || items.length > 3) return this.#local(arity(name));
        return this.#local(this.#auth(items.length === 3 ? arg(1) : undefined, arg(items.length - 1)));
      case "hello":
        return this.#hello(items, arg);
      case "client":
        return this.#client(items, arg);
    }
  }

  #auth(username: string | undefined, password: string): Uint8Array {
    if (this.#ctx.passwords.length === 0) return encodeError("ERR Client sent AUTH, but no password is set");
    const userOk = username === undefined || username === (this.#ctx.username || "default");
    if (userOk && this.#ctx.passwords.includes(password)) {
      this.#authed = true;
      return OK;
    }
    return encodeError(
      username === undefined ? "ERR invalid password" : "WRONGPASS invalid username-password pair",
    );
  }

  /** HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 only; RESP3 is refused with NOPROTO. */
  #hello(items: RespValue[], arg: (i: number) => string): void {
    if (items.length > 1 && arg(1) !== "2") {
      return this.#local(
        encodeError(
          arg(1) === "3" ? "NOPROTO this proxy supports RESP2 only" : "NOPROTO unsupported protocol version",
        ),
      );
    }
    for (let i = 2; i < items.length; i++) {
      const option = arg(i).toLowerCase();
      if (option === "auth" && i + 2 < items.length) {
        const result = this.#auth(arg(i + 1), arg(i + 2));
        if (result !== OK) return this.#local(result);
        i += 2;
      } else if (option === "setname" && i + 1 < items.length) {
        this.#name = items[++i].data;
      } else {
        return this.#local(encodeError(`ERR Syntax error in HELLO option '${arg(i)}'`));
      }
    }
    if (!this.#authed) {
      return this.#local(encodeError("NOAUTH HELLO must be called with the client already authenticated"));
    }
    this.#local(encodeArray([
      encodeBulk("server"),
      encodeBulk("redis"),
      encodeBulk("version"),
      encodeBulk("7.0.0"),
      encodeBulk("proto"),
      encodeInteger(2),
      encodeBulk("id"),
      encodeInteger(this.#id),
      encodeBulk("mode"),
      encodeBulk("standalone"),
      encodeBulk("role"),
      encodeBulk("master"),
      encodeBulk("modules"),
      encodeArray([]),
    ]));
  }

  #client(items: RespValue[], arg: (i: number) => string): void {
    const sub = items.length > 1 ? arg(1).toLowerCase() : "";
    if (sub === "setname" && items.length === 3) {
      this.#name = items[2].data;
      return this.#local(OK);
    }
    if (sub === "setinfo") return this.#local(OK);
    if (sub === "getname") return this.#local(this.#name ? encodeBulk(this.#name) : NULL_BULK);
    if (sub === "id") return this.#local(encodeInteger(this.#id));
    this.#local(
      encodeError(
        `ERR unsupported command 'client ${sub}': only SETNAME, GETNAME, SETINFO and ID are answered by the proxy`,
      ),
    );
  }
}

/** Decodes one complete command found by the scanner (for the commands the fast path does not take). */
function decodeCommand(raw: Uint8Array, limits: RespLimits): RespValue | RespProtocolError | null {
  const decoder = new RespDecoder(limits);
  decoder.wrap(raw);
  return decoder.next();
}

function arity(name: string): Uint8Array {
  return encodeError(`ERR wrong number of arguments for '${name}' command`);
}
