/**
 * Thrift benchmark: direct vs through metamesh vs through haproxy `mode tcp` (the L4 relay floor), for
 * framed + binary and THeader + compact, with 1 and 50 client connections, small calls
 * (`HelloService.sayHello("world")`, the Aeraki sample's method).
 *
 * The upstream is bench/loadgen.c in server mode: a canned `"Hello world"` reply with the request's seqid
 * (framed binary: 4 bytes copied at a fixed offset; THeader compact: its `theader-compact` mode splices the
 * seqid varint, whose length changes as metamesh rewrites ids). Every client connection sends seqid 1, so
 * through metamesh the ids collide on shared upstream connections and must be rewritten. Before each row
 * one call is checked to come back as a real `sayHello` reply (not a local error reply).
 *
 *   deno run -A bench/thrift/run.ts [--seconds 3] [--rounds 3] [--write]   (--write also updates bench/RESULTS.md)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { thriftCodecFactory } from "../../codecs/thrift/mod.ts";
import {
  conditions,
  connectionsTo,
  cpuMs,
  deno,
  freePort,
  haproxyConfig,
  loadAverage,
  loadgenBinary,
  type LoadResult,
  markdownTable,
  metaBenchBootstrap,
  type Proc,
  RELAY_COLUMNS,
  repoRoot,
  rssMiB,
  runLoad,
  spawn,
  waitForPort,
} from "../lib.ts";
import { replaceSection } from "../results.ts";
import { type Pair, PAIRS } from "./frames.ts";

const THRIFT = { hdr: 4, loff: 0, lsize: 4, ladj: 0 };
const PATHS = ["direct", "metamesh", "haproxy tcp"] as const;
type PathName = typeof PATHS[number];
const CLUSTER = "outbound|9090||thrift-sample-server.thrift.svc.cluster.local";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
    /** Only the pair with this id (e.g. `theader-compact`); never with --write. */
    only: { type: "string" },
    /** Directory for a V8 tick log of the metamesh process (`node --prof-process DIR/v8-*.log`); never with --write. */
    prof: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

const loadBefore = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "metamesh-bench-thrift-" });
const bin = await loadgenBinary();
const rows: (string | number)[][] = [];
try {
  if (values.write && (values.only || values.prof)) {
    throw new Error("--write measures every pair, unprofiled");
  }
  for (const pair of PAIRS) if (!values.only || pair.id === values.only) rows.push(...await benchPair(pair));
} finally {
  await Deno.remove(dir, { recursive: true });
}

const table = markdownTable(["transport+protocol", ...RELAY_COLUMNS], rows);
console.log(table);
if (values.write) {
  const sizes = PAIRS.map((p) => `${p.label} ${p.request.length} B / ${p.response.length} B`).join(", ");
  const text =
    `Run: \`deno run -A bench/thrift/run.ts --seconds ${seconds} --rounds ${rounds} --write\` on ${
      new Date().toISOString().slice(0, 10)
    }.\n` +
    `Conditions: ${await conditions()}. Call: Thrift \`HelloService.sayHello("world")\` → \`"Hello world"\` ` +
    `(request / reply: ${sizes}), closed loop (one request in flight per connection, every connection sends ` +
    `seqid 1), ${seconds} s per row and round, ${rounds} rounds interleaving the paths, each cell the median ` +
    `over rounds (errors: the sum); upstream conns counted per relay process. Upstream = bench/loadgen.c canned responder (framed binary: seqid copied ` +
    `at offset 20; THeader compact: \`theader-compact\` mode splices the seqid varint); metamesh: one Deno ` +
    `process (\`main.ts --mode=proxy\`), Thrift codec auto-detecting transport/protocol, multiplexing on ` +
    `(seqids rewritten), route on \`method\`, no access log and no route mutation (so, unlike ` +
    `MetaProtocolProxy, no \`x-request-id\` is generated and THeader requests are forwarded without ` +
    `re-encoding; see docs/ARCHITECTURE.md), default V8 flags; haproxy 2.6 \`mode tcp\`, nbthread 1. Proxy ` +
    `CPU = user + system time of the relay process per request (steadier than req/s on a shared machine). Load ` +
    `generator, proxy and upstream share the cores. Each path starts with one checked call. Load average ` +
    `(1 min) before / after the run: ${loadBefore} / ${await loadAverage()} (other work on the machine skews ` +
    `every row; compare paths within one run).\n\n` +
    `${table}\n`;
  await replaceSection("Thrift", text);
}

/** One measured row of one round. */
interface Sample {
  r: LoadResult;
  rss: number | "-";
  /** Relay CPU per request, µs (NaN for direct). */
  cpu: number;
  upstreamConns: number;
}

/**
 * Runs the 6 rows of one transport+protocol pair against its own upstream: all relays start once, then
 * `rounds` rounds run every row in turn (interleaving paths, so a burst of other work on a shared
 * machine hits all of them), and each cell is the median over rounds. Upstream connections are counted per
 * relay process (its sockets to the upstream port), so an idle relay never shows in another's row.
 */
async function benchPair(pair: Pair): Promise<(string | number)[][]> {
  const requestFile = `${dir}/${pair.id}-request.bin`, responseFile = `${dir}/${pair.id}-response.bin`;
  await Deno.writeFile(requestFile, pair.request);
  await Deno.writeFile(responseFile, pair.response);
  const upstreamPort = freePort();
  const upstream = spawn(bin, [
    "server",
    String(upstreamPort),
    responseFile,
    "4",
    "0",
    "4",
    "0",
    ...pair.serverIdArgs,
  ]);
  const relays = new Map<PathName, { port: number; proc?: Proc }>();
  const samples = new Map<string, Sample[]>();
  try {
    await waitForPort(upstreamPort);
    for (const name of PATHS) {
      const relay = await startRelay(name, pair, upstreamPort);
      relays.set(name, relay);
      await checkOneCall(relay.port, pair, name);
    }
    const relayPids = [...relays.values()].flatMap((r) => r.proc ? [r.proc.pid] : []);
    for (let round = 1; round <= rounds; round++) {
      for (const conns of [1, 50]) {
        for (const name of PATHS) {
          const relay = relays.get(name)!;
          let rss: number | "-" = "-", upstreamConns = 0;
          const cpu0 = relay.proc ? await cpuMs(relay.proc.pid) : 0;
          const r = await runLoad(
            { port: relay.port, conns, seconds, requestFile, framing: THRIFT },
            async () => {
              if (relay.proc) {
                rss = await rssMiB(relay.proc.pid);
                upstreamConns = await processConnectionsTo(relay.proc.pid, upstreamPort);
              } else {
                let relayed = 0;
                for (const pid of relayPids) relayed += await processConnectionsTo(pid, upstreamPort);
                upstreamConns = await connectionsTo(upstreamPort) - relayed;
              }
            },
          );
          const cpu = relay.proc ? ((await cpuMs(relay.proc.pid)) - cpu0) * 1000 / r.requests : NaN;
          const key = `${name}|${conns}`;
          samples.set(key, [...samples.get(key) ?? [], { r, rss, cpu, upstreamConns }]);
          console.error(`${pair.label} round ${round} ${name} x${conns}: ${Math.round(r.rps)} req/s`);
        }
      }
    }
  } finally {
    for (const relay of relays.values()) await relay.proc?.close();
    await upstream.close();
  }
  const med = (key: string, f: (x: Sample) => number) => median(samples.get(key)!.map(f));
  const direct50 = med("direct|50", (x) => x.r.rps);
  return [1, 50].flatMap((conns) =>
    PATHS.map((name) => {
      const key = `${name}|${conns}`;
      const rps = med(key, (x) => x.r.rps);
      return [
        pair.label,
        name,
        conns,
        Math.round(rps),
        conns === 50 && name !== "direct" ? `${Math.round((rps / direct50) * 100)}%` : "",
        (med(key, (x) => x.r.p50_us) / 1000).toFixed(2),
        (med(key, (x) => x.r.p99_us) / 1000).toFixed(2),
        name === "direct" ? "-" : Math.round(med(key, (x) => Number(x.rss))),
        name === "direct" ? "-" : med(key, (x) => x.cpu).toFixed(1),
        Math.round(med(key, (x) => x.upstreamConns)),
        samples.get(key)!.reduce((n, x) => n + x.r.errors, 0),
      ];
    })
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Established TCP connections to 127.0.0.1:`port` owned by process `pid` (its socket inodes). */
async function processConnectionsTo(pid: number, port: number): Promise<number> {
  const inodes = new Set<string>();
  for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
    const link = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]);
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const line of (await Deno.readTextFile("/proc/net/tcp")).split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // cols[2] remote address, cols[3] state (01 = ESTABLISHED), cols[9] inode
    if (cols.length > 9 && cols[2].endsWith(`:${hexPort}`) && cols[3] === "01" && inodes.has(cols[9])) n++;
  }
  return n;
}

/** Starts the path's relay process (none for direct) and waits for its port. */
async function startRelay(
  name: PathName,
  pair: Pair,
  upstreamPort: number,
): Promise<{ port: number; proc?: Proc }> {
  if (name === "direct") return { port: upstreamPort };
  const port = freePort();
  let proc: Proc;
  if (name === "metamesh") {
    const bootstrapFile = `${dir}/${pair.id}-bootstrap.json`;
    await Deno.writeTextFile(
      bootstrapFile,
      JSON.stringify(
        metaBenchBootstrap({
          listenPort: port,
          adminPort: freePort(),
          upstreamPort: upstreamPort,
          protocol: "thrift",
          codec: "aeraki.meta_protocol.codec.thrift",
          cluster: CLUSTER,
          match: { name: "method", exact_match: "sayHello" },
        }),
      ),
    );
    const prof = values.prof
      ? [`--v8-flags=--prof,--no-logfile-per-isolate,--logfile=${values.prof}/v8-%p.log`]
      : [];
    proc = spawn(deno, [
      "run",
      "-A",
      ...prof,
      `${repoRoot}main.ts`,
      "--mode=proxy",
      "--config",
      bootstrapFile,
    ]);
  } else {
    proc = spawn("haproxy", ["-db", "-f", await haproxyConfig(dir, port, upstreamPort)]);
  }
  try {
    await waitForPort(port);
  } catch (error) {
    await proc.close();
    throw error;
  }
  return { port, proc };
}

/** Sends one request with seqid 7 and checks the answer is the canned `sayHello` reply with seqid 7. */
async function checkOneCall(port: number, pair: Pair, path: string): Promise<void> {
  const server = thriftCodecFactory().create("server");
  const sent = server.decode(pair.request);
  if (sent.kind !== "frame") throw new Error(`Cannot decode the ${pair.label} bench request`);
  const request = server.setRequestId(sent.frame, pair.request.slice(), 7);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(request);
    const codec = thriftCodecFactory().create("client");
    const buf = new Uint8Array(64 * 1024);
    let len = 0;
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = codec.decode(buf.subarray(0, len));
      if (r.kind === "frame") {
        const f = r.frame;
        if (f.type !== "response" || !f.ok || f.requestId !== 7 || f.metadata.get("method") !== "sayHello") {
          throw new Error(
            `Cannot bench ${path} (${pair.label}): check call got ${f.type} ok=${f.ok} seqid=${f.requestId}`,
          );
        }
        return;
      }
      if (r.kind === "error") throw new Error(`Cannot bench ${path} (${pair.label}): ${r.reason}`);
      if (Date.now() > deadline) throw new Error(`Cannot bench ${path} (${pair.label}): no reply`);
      const n = await conn.read(buf.subarray(len));
      if (n === null) throw new Error(`Cannot bench ${path} (${pair.label}): connection closed`);
      len += n;
    }
  } finally {
    conn.close();
  }
}
