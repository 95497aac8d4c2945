/**
 * Shared bench plumbing: the native load generator (bench/loadgen.c), child processes, RSS and
 * connection counts, and table printing. Benchmarks print tables; they never assert.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

export const repoRoot: string = fileURLToPath(new URL("../", import.meta.url));
export const deno: string = `${repoRoot}node_modules/.bin/deno`;

/** How a protocol frames messages, for the load generator: whole = hdr + BE length(lsize @ loff) + ladj. */
export interface Framing {
  hdr: number;
  loff: number;
  lsize: number;
  ladj: number;
}

/** Builds bench/loadgen.c once (needs a C compiler: `apt-get install gcc` on a bare machine). */
export async function loadgenBinary(): Promise<string> {
  const out = "/tmp/metamesh-loadgen";
  const src = `${repoRoot}bench/loadgen.c`;
  const built = await Deno.stat(out).catch(() => undefined);
  const source = await Deno.stat(src);
  if (!built || (built.mtime ?? 0) < (source.mtime ?? 0)) {
    const cc = await new Deno.Command("cc", { args: ["-O2", "-o", out, src] }).output();
    if (!cc.success) throw new Error(`Cannot build loadgen: ${new TextDecoder().decode(cc.stderr)}`);
  }
  return out;
}

/** A background process that is killed on close. */
export interface Proc {
  pid: number;
  close(): Promise<void>;
}

/** Starts a command in the background (output discarded unless `inherit`). */
export function spawn(
  cmd: string,
  args: string[],
  opts: { inherit?: boolean; env?: Record<string, string> } = {},
): Proc {
  const child = new Deno.Command(cmd, {
    args,
    stdout: opts.inherit ? "inherit" : "null",
    stderr: opts.inherit ? "inherit" : "null",
    stdin: "null",
    env: opts.env,
  }).spawn();
  return {
    pid: child.pid,
    async close() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** Resident set size of a process in MiB (from /proc). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/**
 * CPU time (user + system) process `pid` has used so far, in ms (from /proc; USER_HZ = 100). Per-request
 * CPU of a relay is steadier than req/s on a machine shared with other work.
 */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Established TCP connections to 127.0.0.1:`port` (counted from /proc/net/tcp). */
export async function connectionsTo(port: number): Promise<number> {
  const table = await Deno.readTextFile("/proc/net/tcp");
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const line of table.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // remote address column is cols[2] ("0100007F:PORT"), state 01 = ESTABLISHED
    if (cols.length > 3 && cols[2].endsWith(`:${hexPort}`) && cols[3] === "01") n++;
  }
  return n;
}

/** Result of one load run. */
export interface LoadResult {
  requests: number;
  rps: number;
  p50_us: number;
  p99_us: number;
  errors: number;
}

/** Runs the load generator against host:port; `during` samples metrics while load runs. */
export async function runLoad(
  opts: { port: number; conns: number; seconds: number; requestFile: string; framing: Framing },
  during?: () => Promise<void>,
): Promise<LoadResult> {
  const bin = await loadgenBinary();
  const f = opts.framing;
  const child = new Deno.Command(bin, {
    args: [
      "client",
      "127.0.0.1",
      String(opts.port),
      String(opts.conns),
      String(opts.seconds),
      opts.requestFile,
      String(f.hdr),
      String(f.loff),
      String(f.lsize),
      String(f.ladj),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (during) {
    await new Promise((r) => setTimeout(r, (opts.seconds * 1000) / 2));
    await during();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`loadgen failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Waits until 127.0.0.1:`port` accepts connections. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`Cannot connect to 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Prints rows as a Markdown table (also valid for bench/RESULTS.md). */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** Writes an haproxy `mode tcp` config forwarding `listenPort` to `upstreamPort` (1 thread, like metamesh). */
export async function haproxyConfig(dir: string, listenPort: number, upstreamPort: number): Promise<string> {
  const path = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(
    path,
    `global
  nbthread 1
  maxconn 1000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen relay
  bind 127.0.0.1:${listenPort}
  option tcp-smart-accept
  server up 127.0.0.1:${upstreamPort}
`,
  );
  return path;
}

/** Machine facts recorded beside results. */
export async function conditions(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const cores = navigator.hardwareConcurrency;
  const mem = Math.round(
    Number(/MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo"))?.[1]) / 1048576,
  );
  return `${cores} vCPU (${cpu}), ${mem} GiB RAM, Deno ${Deno.version.deno}, all processes on one machine over loopback`;
}

/** Columns of the relay tables (direct vs metamesh vs haproxy) the protocol benches print. */
export const RELAY_COLUMNS: readonly string[] = [
  "path",
  "client conns",
  "req/s",
  "% of direct",
  "p50 ms",
  "p99 ms",
  "proxy RSS MiB",
  "proxy CPU µs/req",
  "upstream conns",
  "errors",
];

/** The 1-minute load average, to record how busy the machine was. */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
}

/**
 * A static bootstrap for the protocol benches: one MetaProtocol listener on 127.0.0.1:`listenPort` whose single
 * route (`metadata key = value`) goes to one STATIC cluster at 127.0.0.1:`upstreamPort`; no access log, no
 * mutation (so nothing forces a re-encode), admin on `adminPort`.
 */
export function metaBenchBootstrap(opts: {
  listenPort: number;
  adminPort: number;
  upstreamPort: number;
  protocol: string;
  codec: string;
  cluster: string;
  match: { name: string; exact_match: string };
}): Record<string, unknown> {
  const address = (port: number) => ({ socket_address: { address: "127.0.0.1", port_value: port } });
  return {
    admin: { address: address(opts.adminPort) },
    static_resources: {
      listeners: [{
        name: opts.protocol,
        address: address(opts.listenPort),
        filter_chains: [{
          filters: [{
            name: "aeraki.meta_protocol_proxy",
            typed_config: {
              "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy",
              stat_prefix: opts.cluster,
              protocol: { name: opts.protocol, codec: { name: opts.codec } },
              route_config: {
                name: "bench",
                routes: [{ name: "r", match: { metadata: [opts.match] }, route: { cluster: opts.cluster } }],
              },
            },
          }],
        }],
      }],
      clusters: [{
        name: opts.cluster,
        type: "STATIC",
        connect_timeout: "1s",
        load_assignment: {
          cluster_name: opts.cluster,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: address(opts.upstreamPort) } }] }],
        },
      }],
    },
  };
}
