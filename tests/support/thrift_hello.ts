/**
 * The Aeraki Thrift samples' HelloService (`tests/support/thrift/hello.thrift`, the samples' IDL) as real npm
 * `thrift` peers: a server that records each call and the THeader info headers it carried, and a client.
 * Two reply styles, as the tests need them: a sample pod (`<name> from <version>`) and Aeraki's data-plane
 * test upstream (`Hello <name>`), the latter usually on the fixed port its file names.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { AddressInfo, Server, Socket } from "node:net";
import { repoRoot } from "./paths.ts";
import {
  compileThriftIdl,
  connectGeneratedClient,
  loadGenerated,
  type PeerProtocol,
  peerStack,
  type PeerTransport,
  type ThriftClient,
} from "./thrift_peer.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");

/** The generated HelloService module (`sayHello`, `sayGoodbye`). */
export const HelloService: Any = loadGenerated(
  compileThriftIdl(`${repoRoot}/tests/support/thrift/hello.thrift`),
  "HelloService.js",
);

/**
 * Drops npm thrift's "SeqId already set" log line (its compact protocol prints it when one protocol object
 * writes several pipelined replies, with or without a proxy); every other line is still printed.
 */
export function quietSeqIdWarnings(): void {
  thrift.setLogFunc((line: string) => {
    if (!line.includes("SeqId already set")) console.log(line);
  });
}

/** How a HelloService server answers, and where it listens. */
export interface HelloServerOptions {
  readonly transport: PeerTransport;
  readonly protocol: PeerProtocol;
  /**
   * Set: a sample pod, `sayHello(n)` → `n from <version>` (calls keep `n`), `sayGoodbye(n)` →
   * `bye n from <version>` (not kept). Unset: Aeraki's test upstream, `Hello n` / `Bye n`, calls keep
   * `sayHello:n` / `sayGoodbye:n`.
   */
  readonly version?: string;
  /** A fixed port on 127.0.0.1, retried while busy for `portBudgetMs` (default 40 s); default a free port. */
  readonly port?: number;
  readonly portBudgetMs?: number;
}

/** A running HelloService server. */
export interface HelloServer {
  readonly port: number;
  /** The calls, as {@linkcode HelloServerOptions.version} describes. */
  readonly calls: string[];
  /** The THeader info headers of each call (THeader transport only). */
  readonly headers: Record<string, string>[];
  /** Stops listening and destroys open connections. */
  close(): Promise<void>;
}

/** Starts a HelloService server on 127.0.0.1; see {@linkcode HelloServerOptions}. */
export async function startHelloServer(opts: HelloServerOptions): Promise<HelloServer> {
  const calls: string[] = [];
  const headers: Record<string, string>[] = [];
  const version = opts.version;
  const handler = version === undefined
    ? {
      sayHello: (name: string) => Promise.resolve((calls.push(`sayHello:${name}`), `Hello ${name}`)),
      sayGoodbye: (name: string) => Promise.resolve((calls.push(`sayGoodbye:${name}`), `Bye ${name}`)),
    }
    : {
      sayHello: (name: string) => Promise.resolve((calls.push(name), `${name} from ${version}`)),
      sayGoodbye: (name: string) => Promise.resolve(`bye ${name} from ${version}`),
    };
  const inner = new HelloService.Processor(handler);
  const processor = {
    process(input: Any, output: Any) {
      const result = inner.process(input, output);
      // The message header has been read by now: keep the THeader info headers it carried.
      if (typeof input.trans?.getReadHeaders === "function") {
        headers.push({ ...input.trans.getReadHeaders() });
      }
      return result;
    },
  };
  const server: Server = thrift.createMultiplexServer(processor, peerStack(opts.transport, opts.protocol));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("error", () => {});
  const port = opts.port ?? 0;
  const deadline = Date.now() + (opts.portBudgetMs ?? 40_000);
  for (;;) {
    const bound = await new Promise<boolean>((ok) => {
      server.once("listening", () => ok(true));
      server.once("error", () => ok(false));
      server.listen(port, "127.0.0.1");
    });
    if (bound) break;
    if (Date.now() > deadline) throw new Error(`Cannot listen on 127.0.0.1:${port}: in use`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    headers,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

/** A HelloService client on `hostname:port` (default 127.0.0.1). */
export function connectHello(options: {
  port: number;
  hostname?: string;
  transport: PeerTransport;
  protocol: PeerProtocol;
}): Promise<ThriftClient> {
  return connectGeneratedClient(HelloService, options);
}
