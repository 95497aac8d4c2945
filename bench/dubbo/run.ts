/**
 * Dubbo benchmark: direct vs through metamesh vs through haproxy `mode tcp` (the L4 relay floor), with 1
 * and 50 client connections, small requests (`sayHello("world")` with one attachment).
 *
 * The upstream is bench/loadgen.c in server mode (a canned Dubbo response with the request id copied),
 * so the baseline measures the network path, not a scripted server. Prints a Markdown table.
 *
 *   deno run -A bench/dubbo/run.ts [--seconds 5] [--write]   (--write also updates bench/RESULTS.md)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeRequest, encodeResponse } from "../../tests/support/dubbo_frames.ts";
import {
  conditions,
  connectionsTo,
  cpuMs,
  deno,
  freePort,
  haproxyConfig,
  loadAverage,
  loadgenBinary,
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

const DUBBO = { hdr: 16, loff: 12, lsize: 4, ladj: 0 };
const INTERFACE = "org.apache.dubbo.samples.basic.api.DemoService";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "5" }, write: { type: "boolean", default: false } },
});
const seconds = Number(values.seconds);

const loadBefore = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "metamesh-bench-dubbo-" });
const requestFile = `${dir}/request.bin`, responseFile = `${dir}/response.bin`;
await Deno.writeFile(
  requestFile,
  encodeRequest({
    requestId: 1,
    interface: INTERFACE,
    method: "sayHello",
    args: ["world"],
    attachments: { foo: "bar" },
  }),
);
await Deno.writeFile(responseFile, encodeResponse({ requestId: 1, value: "Hello world", attachments: {} }));

const upstreamPort = freePort(), proxyPort = freePort(), haproxyPort = freePort(), adminPort = freePort();
const bin = await loadgenBinary();
const procs: Proc[] = [];
try {
  procs.push(spawn(bin, ["server", String(upstreamPort), responseFile, "16", "12", "4", "0", "4", "8"]));
  await waitForPort(upstreamPort);

  const bootstrap = metaBenchBootstrap({
    listenPort: proxyPort,
    adminPort: adminPort,
    upstreamPort: upstreamPort,
    protocol: "dubbo",
    codec: "aeraki.meta_protocol.codec.dubbo",
    cluster: "outbound|20880||demoservice",
    match: { name: "interface", exact_match: INTERFACE },
  });
  await Deno.writeTextFile(`${dir}/bootstrap.json`, JSON.stringify(bootstrap, null, 2));
  const proxy = spawn(deno, [
    "run",
    "-A",
    `${repoRoot}main.ts`,
    "--mode=proxy",
    "--config",
    `${dir}/bootstrap.json`,
  ]);
  procs.push(proxy);
  await waitForPort(proxyPort);

  const haproxy = spawn("haproxy", ["-db", "-f", await haproxyConfig(dir, haproxyPort, upstreamPort)]);
  procs.push(haproxy);
  await waitForPort(haproxyPort);

  const rows: (string | number)[][] = [];
  let direct50 = 0;
  for (const conns of [1, 50]) {
    for (
      const [name, port, pid] of [["direct", upstreamPort, 0], ["metamesh", proxyPort, proxy.pid], [
        "haproxy tcp",
        haproxyPort,
        haproxy.pid,
      ]] as const
    ) {
      let rss = 0, upstreamConns = 0;
      const cpu0 = pid ? await cpuMs(pid) : 0;
      const r = await runLoad({ port, conns, seconds, requestFile, framing: DUBBO }, async () => {
        rss = pid ? await rssMiB(pid) : 0;
        upstreamConns = await connectionsTo(upstreamPort);
      });
      const cpuPerReq = pid ? (((await cpuMs(pid)) - cpu0) * 1000 / r.requests).toFixed(1) : "-";
      if (name === "direct" && conns === 50) direct50 = r.rps;
      const ofDirect = conns === 50 && name !== "direct" ? `${Math.round((r.rps / direct50) * 100)}%` : "";
      rows.push([
        name,
        conns,
        Math.round(r.rps),
        ofDirect,
        (r.p50_us / 1000).toFixed(2),
        (r.p99_us / 1000).toFixed(2),
        pid ? rss : "-",
        cpuPerReq,
        upstreamConns,
        r.errors,
      ]);
      console.error(`${name} x${conns}: ${Math.round(r.rps)} req/s`);
    }
  }
  const table = markdownTable([...RELAY_COLUMNS], rows);
  console.log(table);
  if (values.write) {
    const text =
      `Run: \`deno run -A bench/dubbo/run.ts --seconds ${seconds} --write\` on ${
        new Date().toISOString().slice(0, 10)
      }.\n` +
      `Conditions: ${await conditions()}. Request: Dubbo \`${INTERFACE}.sayHello("world")\` with one attachment ` +
      `(${
        (await Deno.stat(requestFile)).size
      } B), closed loop (one request in flight per connection), ${seconds} s per row; ` +
      `upstream = bench/loadgen.c canned responder; metamesh: one Deno process, multiplexing on, route on interface, ` +
      `no access log and no route mutation (so no \`x-request-id\` is generated and requests are forwarded ` +
      `without re-encoding, see docs/ARCHITECTURE.md), default V8 flags; haproxy 2.6 \`mode tcp\`, nbthread 1. ` +
      `Proxy RSS sampled mid-run; proxy CPU = user + system time of the relay process per request (steadier ` +
      `than req/s when other work shares the machine). Load average (1 min) before / after: ${loadBefore} / ` +
      `${await loadAverage()}. Load generator, proxy and upstream share ` +
      `the 2 cores.\n\n${table}\n`;
    await replaceSection("Dubbo", text);
  }
} finally {
  for (const p of procs.reverse()) await p.close();
  await Deno.remove(dir, { recursive: true });
}
