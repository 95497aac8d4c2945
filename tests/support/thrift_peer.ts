/**
 * Real Thrift peers for tests: npm `thrift` 0.24 servers and clients of `tests/support/thrift/echo.thrift`
 * for every transport × protocol pair the library supports (framed, buffered, THeader × binary, compact).
 *
 * The IDL is compiled at test time (`thrift --gen js:node,ts,es6`) into a cache under /tmp keyed by the
 * IDL's hash; the generated CommonJS is loaded with `createRequire` (its folder gets a
 * `{"type":"commonjs"}` package.json and a `node_modules` link to the repository's, so `require('thrift')`
 * resolves to the same library). Handlers are async: the es6 processor crashes on a synchronous throw.
 *
 * @module
 */
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server, Socket } from "node:net";
import { resolve } from "node:path";
import { repoRoot } from "./paths.ts";

/** Transports of npm `thrift`: framed, buffered (= unframed) and THeader (over the buffered receiver). */
export type PeerTransport = "framed" | "buffered" | "header";
/** Protocols of npm `thrift` used here. */
export type PeerProtocol = "binary" | "compact";

/** Every transport × protocol pair the peers support. */
export const PEER_PAIRS: readonly { transport: PeerTransport; protocol: PeerProtocol }[] = [
  { transport: "framed", protocol: "binary" },
  { transport: "framed", protocol: "compact" },
  { transport: "buffered", protocol: "binary" },
  { transport: "buffered", protocol: "compact" },
  { transport: "header", protocol: "binary" },
  { transport: "header", protocol: "compact" },
];

// deno-lint-ignore no-explicit-any
type Any = any;

const IDL = resolve(repoRoot, "tests/support/thrift/echo.thrift");
const require = createRequire(import.meta.url);
const thrift: Any = require("thrift");

let generated: { Echo: Any; Calc: Any; types: Any } | undefined;

/**
 * Compiles a Thrift IDL with `thrift --gen js:node,ts,es6` once per checkout and IDL content (cached under
 * /tmp/metamesh-thrift-gen/<hash>) and returns the `gen-nodejs` folder, loadable with `loadGenerated`.
 */
export function compileThriftIdl(idl: string): string {
  // The checkout is part of the key: the folder links to this checkout's node_modules, and code generated for
  // another checkout would load another copy of `thrift` (its TApplicationException would fail instanceof).
  const hash = createHash("sha256").update(repoRoot).update(readFileSync(idl)).digest("hex").slice(0, 16);
  const dir = `/tmp/metamesh-thrift-gen/${hash}`;
  const gen = `${dir}/gen-nodejs`;
  if (!existsSync(`${gen}/package.json`)) {
    const tmp = `${dir}.${Deno.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const out = new Deno.Command("thrift", { args: ["--gen", "js:node,ts,es6", "-o", tmp, idl] })
      .outputSync();
    if (!out.success) throw new Error(`Cannot compile ${idl}: ${new TextDecoder().decode(out.stderr)}`);
    writeFileSync(`${tmp}/gen-nodejs/package.json`, '{"type":"commonjs"}\n');
    symlinkSync(resolve(repoRoot, "node_modules"), `${tmp}/node_modules`);
    mkdirSync(`/tmp/metamesh-thrift-gen`, { recursive: true });
    try {
      renameSync(tmp, dir); // atomic publish; a concurrent winner is fine
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return gen;
}

/** Loads one generated CommonJS module (e.g. `Echo.js`) from a folder made by {@linkcode compileThriftIdl}. */
export function loadGenerated(gen: string, file: string): Any {
  return require(`${gen}/${file}`);
}

/** Compiles echo.thrift (see {@linkcode compileThriftIdl}) and loads the generated modules. */
export function generatedEcho(): { Echo: Any; Calc: Any; types: Any } {
  if (generated) return generated;
  const gen = compileThriftIdl(IDL);
  generated = {
    Echo: require(`${gen}/Echo.js`),
    Calc: require(`${gen}/Calc.js`),
    types: require(`${gen}/echo_types.js`),
  };
  return generated;
}

/** A THeader transport class whose writes use the compact protocol id (reads follow the peer's id). */
function headerTransport(protocol: PeerProtocol): Any {
  if (protocol === "binary") return thrift.TBufferedTransport;
  function CompactHeaderTransport(this: Any, ...args: unknown[]) {
    thrift.TBufferedTransport.apply(this, args);
    this.setProtocolId(2);
  }
  CompactHeaderTransport.prototype = Object.create(thrift.TBufferedTransport.prototype);
  CompactHeaderTransport.receiver = thrift.TBufferedTransport.receiver;
  return CompactHeaderTransport;
}

/** npm `thrift` transport and protocol classes for a pair. */
export function peerStack(
  transport: PeerTransport,
  protocol: PeerProtocol,
): { transport: Any; protocol: Any } {
  if (transport === "header") {
    return { transport: headerTransport(protocol), protocol: thrift.THeaderProtocol };
  }
  return {
    transport: transport === "framed" ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocol: protocol === "compact" ? thrift.TCompactProtocol : thrift.TBinaryProtocol,
  };
}

/** A running Thrift server. */
export interface ThriftServer {
  readonly port: number;
  /** Calls received, in order: `echo:<msg>`, `add:<a>+<b>`, `find:<key>`, `ping:<who>`, `blob:<n>`, `mul:<a>*<b>`. */
  readonly calls: string[];
  /** Stops listening and destroys open connections. */
  close(): Promise<void>;
}

/**
 * Starts an `Echo` server (and `Calc`, multiplexed, when `multiplexed`) on 127.0.0.1. `echo` replies
 * `<name>:<msg>`; `find` throws the declared `NotFound` unless the key is `known`.
 */
export async function startThriftServer(
  options: {
    transport: PeerTransport;
    protocol: PeerProtocol;
    port?: number;
    name: string;
    multiplexed?: boolean;
  },
): Promise<ThriftServer> {
  const { Echo, Calc, types } = generatedEcho();
  const calls: string[] = [];
  // Handlers return promises (a synchronous throw would crash the es6 processor): `settle` turns a
  // thrown IDL exception into a rejection.
  const settle = <T>(f: () => T): Promise<T> => new Promise((ok) => ok(f()));
  const echoHandler = {
    echo: (msg: string) => settle(() => (calls.push(`echo:${msg}`), `${options.name}:${msg}`)),
    add: (a: number, b: number) => settle(() => (calls.push(`add:${a}+${b}`), a + b)),
    find: (key: string) =>
      settle(() => {
        calls.push(`find:${key}`);
        if (key !== "known") throw new types.NotFound({ key });
        return `${options.name}:found`;
      }),
    ping: (who: string) => settle(() => void calls.push(`ping:${who}`)),
    blob: (data: Uint8Array) => settle(() => (calls.push(`blob:${data.length}`), data)),
  };
  const calcHandler = { mul: (a: number, b: number) => settle(() => (calls.push(`mul:${a}*${b}`), a * b)) };
  const stack = peerStack(options.transport, options.protocol);
  let server: Server;
  if (options.multiplexed) {
    const processor = new thrift.MultiplexedProcessor();
    processor.registerProcessor("Echo", new Echo.Processor(echoHandler));
    processor.registerProcessor("Calc", new Calc.Processor(calcHandler));
    server = thrift.createMultiplexServer(processor, stack);
  } else {
    server = thrift.createServer(Echo, echoHandler, stack);
  }
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("error", () => {}); // peers that send garbage are the test's business
  await new Promise<void>((ok) => server.listen(options.port ?? 0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

/** A connected Thrift client. */
export interface ThriftClient {
  /** The generated client (`echo`, `add`, `find`, `ping`, `blob`; or `mul` for `Calc`); methods return promises. */
  readonly client: Any;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects a client of `service` (default `Echo`) to 127.0.0.1:`port`. With `multiplexed`, calls go
 * through TMultiplexedProtocol (`Echo:echo`, `Calc:mul`).
 */
export function connectThriftClient(
  options: {
    port: number;
    transport: PeerTransport;
    protocol: PeerProtocol;
    service?: "Echo" | "Calc";
    multiplexed?: boolean;
  },
): Promise<ThriftClient> {
  const { Echo, Calc } = generatedEcho();
  const name = options.service ?? "Echo";
  return connectGeneratedClient(name === "Echo" ? Echo : Calc, {
    ...options,
    multiplexedAs: options.multiplexed ? name : undefined,
  });
}

/**
 * Makes a generated THeader client really send THeader frames: npm's es6 clients flush the transport
 * rather than the protocol, which skips the header and sends bare unframed messages, so the transport
 * writes its headers on every flush. Returns `client`.
 */
export function sendRealTHeader(client: Any): Any {
  const transport = client.output;
  const flush = transport.flush.bind(transport);
  transport.flush = () => {
    transport.writeHeaders();
    return flush();
  };
  return client;
}

/** Connects a client of any generated `service` module to `hostname:port` (THeader: see {@linkcode sendRealTHeader}). */
export async function connectGeneratedClient(
  service: Any,
  options: {
    port: number;
    hostname?: string;
    transport: PeerTransport;
    protocol: PeerProtocol;
    multiplexedAs?: string;
  },
): Promise<ThriftClient> {
  const connection = thrift.createConnection(options.hostname ?? "127.0.0.1", options.port, {
    ...peerStack(options.transport, options.protocol),
    max_attempts: 1,
    connect_timeout: 5000,
  });
  connection.on("error", () => {}); // surfaced through rejected calls
  await new Promise<void>((ok, fail) => {
    connection.once("connect", ok);
    connection.once("error", fail);
  });
  const client = options.multiplexedAs
    ? new thrift.Multiplexer().createClient(options.multiplexedAs, service, connection)
    : thrift.createClient(service, connection);
  if (options.transport === "header") sendRealTHeader(client);
  return {
    client,
    close: () =>
      new Promise<void>((ok) => {
        const socket: Socket = connection.connection;
        if (socket.destroyed) return ok();
        socket.once("close", () => ok());
        connection.end();
        socket.destroy();
      }),
  };
}
