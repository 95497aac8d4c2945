/**
 * End to end with Aeraki's own data-plane file, unchanged:
 * `main.ts --mode=proxy --config shared/aeraki/dataplane-envoy-configs/thrift/test.yaml` as a subprocess.
 * The file fixes its ports (listener 0.0.0.0:9090, admin 127.0.0.1:8080, upstream 127.0.0.1:9091); this
 * is the only test using 9090/9091, but 8080 is also the admin port of the Dubbo file's test, so startup
 * retries until the ports are free. The upstream is a real npm `thrift` server of the Aeraki sample IDL
 * (`tests/support/thrift/hello.thrift`); it records the THeader info headers it receives, so the file's
 * `request_mutation` (foo=bar, foo1=bar1) is checked on THeader calls.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { AddressInfo, Server, Socket } from "node:net";
import { aerakiPath, repoRoot } from "../support/paths.ts";
import {
  compileThriftIdl,
  connectGeneratedClient,
  loadGenerated,
  type PeerProtocol,
  peerStack,
  type PeerTransport,
} from "../support/thrift_peer.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");
// npm thrift's compact protocol warns "SeqId already set" when one protocol object writes several
// pipelined replies (server side, with or without a proxy); that line is noise here, the rest is kept.
thrift.setLogFunc((line: string) => {
  if (!line.includes("SeqId already set")) console.log(line);
});

const CONFIG = aerakiPath("dataplane-envoy-configs/thrift/test.yaml");
const LISTENER_PORT = 9090;
const UPSTREAM_PORT = 9091;
/** How long to wait for the fixed ports to become free (other test files may hold 8080 for a while). */
const STARTUP_BUDGET_MS = 40_000;

const HelloService = loadGenerated(
  compileThriftIdl(`${repoRoot}/tests/support/thrift/hello.thrift`),
  "HelloService.js",
);

/** The hello upstream: `sayHello(name)` → `Hello <name>`; records calls and the THeader headers of each. */
interface HelloServer {
  calls: string[];
  headers: Record<string, string>[];
  close(): Promise<void>;
}

async function startHelloServer(transport: PeerTransport, protocol: PeerProtocol): Promise<HelloServer> {
  const calls: string[] = [];
  const headers: Record<string, string>[] = [];
  const handler = {
    sayHello: (name: string) => Promise.resolve((calls.push(`sayHello:${name}`), `Hello ${name}`)),
    sayGoodbye: (name: string) => Promise.resolve((calls.push(`sayGoodbye:${name}`), `Bye ${name}`)),
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
  const server: Server = thrift.createMultiplexServer(processor, peerStack(transport, protocol));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("error", () => {});
  const deadline = Date.now() + STARTUP_BUDGET_MS;
  for (;;) {
    const bound = await new Promise<boolean>((ok) => {
      server.once("listening", () => ok(true));
      server.once("error", () => ok(false));
      server.listen(UPSTREAM_PORT, "127.0.0.1");
    });
    if (bound) break;
    if (Date.now() > deadline) throw new Error(`Cannot listen on 127.0.0.1:${UPSTREAM_PORT}: in use`);
    await sleep(250);
  }
  assert.equal((server.address() as AddressInfo).port, UPSTREAM_PORT);
  return {
    calls,
    headers,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** The proxy subprocess and what it printed. */
interface ProxyProcess {
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts `main.ts --mode=proxy --config test.yaml` and waits for its listener. When it exits early (a
 * fixed port is busy), it is started again until {@linkcode STARTUP_BUDGET_MS} is spent.
 */
async function startProxyProcess(): Promise<ProxyProcess> {
  const deadline = Date.now() + STARTUP_BUDGET_MS;
  const attempts: string[] = [];
  for (;;) {
    const child = new Deno.Command(`${repoRoot}/node_modules/.bin/deno`, {
      args: ["run", "-A", `${repoRoot}/main.ts`, "--mode=proxy", "--config", CONFIG],
      cwd: repoRoot,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
    };
    const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
    let exited = false;
    const status = child.status.then((s) => (exited = true, s));
    while (!exited && Date.now() < deadline) {
      // "listening on" is printed once every listener is bound (and the admin port is ours).
      if (/listening on/.test(text) && await accepts(LISTENER_PORT)) {
        return {
          output: () => text,
          async close() {
            try {
              child.kill("SIGTERM");
            } catch { /* already gone */ }
            await status;
            await drained;
          },
        };
      }
      await sleep(50);
    }
    if (!exited) child.kill("SIGKILL");
    await status;
    await drained;
    attempts.push(text.trim());
    if (Date.now() > deadline) {
      throw new Error(
        `Cannot start the proxy on ${CONFIG} within ${STARTUP_BUDGET_MS} ms:\n${attempts.join("\n")}`,
      );
    }
    await sleep(500);
  }
}

/** A HelloService client on the proxy's listener. */
function connectHello(transport: PeerTransport, protocol: PeerProtocol) {
  return connectGeneratedClient(HelloService, { port: LISTENER_PORT, transport, protocol });
}

Deno.test("thrift aeraki test.yaml: main.ts --mode=proxy routes sayHello to 9091, other methods get no route", async () => {
  const pairs = [
    { transport: "framed", protocol: "binary" },
    { transport: "header", protocol: "compact" },
  ] as const;
  for (const { transport, protocol } of pairs) {
    const upstream = await startHelloServer(transport, protocol);
    let proxy: ProxyProcess | undefined;
    try {
      proxy = await startProxyProcess();
      const c = await connectHello(transport, protocol);
      try {
        const label = `${transport}+${protocol}`;
        assert.equal(await c.client.sayHello("Aeraki"), "Hello Aeraki", label);
        // Other methods: route_not_found as a TApplicationException; the connection stays usable.
        await assert.rejects(c.client.sayGoodbye("Aeraki"), (e: unknown) => {
          assert.ok(
            e instanceof thrift.Thrift.TApplicationException,
            `${label}: expected TApplicationException, got ${e}`,
          );
          return true;
        });
        const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
        assert.deepEqual(
          await Promise.all(names.map((n) => c.client.sayHello(n))),
          names.map((n) => `Hello ${n}`),
        );
        // Concurrent calls may spread over the proxy's shared upstream connections: compare as sets.
        assert.deepEqual(
          [...upstream.calls].sort(),
          ["sayHello:Aeraki", ...names.map((n) => `sayHello:${n}`)].sort(),
          label,
        );
        // The file's admin (127.0.0.1:8080) serves the MetaProtocolProxy counters under its stat_prefix.
        const stats = await (await fetch("http://127.0.0.1:8080/stats")).text();
        const prefix = "meta_protocol.thrift.outbound|9090||thrift-sample-server.thrift.svc.cluster.local";
        for (
          const [name, value] of [["request", 22], ["response_success", 21], [
            "local_response_business_exception",
            1,
          ]]
        ) {
          assert.ok(
            stats.includes(`${prefix}.${name}: ${value}\n`),
            `${label}: ${name} != ${value} in\n${stats}`,
          );
        }
        if (transport === "header") {
          // request_mutation foo=bar, foo1=bar1 lands in the THeader info headers the upstream reads.
          for (const h of upstream.headers) {
            assert.equal(h.foo, "bar", `${label}: ${JSON.stringify(h)}`);
            assert.equal(h.foo1, "bar1", `${label}: ${JSON.stringify(h)}`);
          }
          assert.equal(upstream.headers.length, upstream.calls.length);
        }
      } finally {
        await c.close();
      }
    } catch (error) {
      throw new Error(`${error}\n--- proxy output ---\n${proxy?.output() ?? "(not started)"}`);
    } finally {
      await proxy?.close();
      await upstream.close();
    }
  }
});
