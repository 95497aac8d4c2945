/**
 * Codec micro-benchmark: decode + setRequestId per request and response frame of each bench pair, as the
 * proxy calls them (the request gets a growing upstream id, the response gets the client's id back). CPU time
 * per pair of calls, best of 15 rounds.
 *
 *   deno run -A bench/thrift/codec_micro.ts [--n 2000000]
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { thriftCodecFactory } from "../../codecs/thrift/mod.ts";
import { PAIRS } from "./frames.ts";

const { values } = parseArgs({ args: Deno.args, options: { n: { type: "string", default: "300000" } } });
const n = Number(values.n);

for (const pair of PAIRS) {
  const server = thriftCodecFactory().create("server");
  const client = thriftCodecFactory().create("client");
  // The response as the upstream sends it: with a multi-byte upstream id.
  const first = client.decode(pair.response);
  if (first.kind !== "frame") throw new Error(`${pair.label}: bad response`);
  const response = client.setRequestId(first.frame, pair.response.slice(), 1_000_000);
  let bestReq = Infinity, bestResp = Infinity;
  for (let round = 0; round < 15; round++) {
    let t = cpuNs();
    for (let i = 0; i < n; i++) {
      const d = server.decode(pair.request);
      if (d.kind !== "frame") throw new Error("request");
      server.setRequestId(d.frame, d.frame.bytes.slice(), 1000 + (i & 0xffff) * 64);
    }
    const req = (cpuNs() - t) / n;
    t = cpuNs();
    for (let i = 0; i < n; i++) {
      const d = client.decode(response);
      if (d.kind !== "frame") throw new Error("response");
      client.setRequestId(d.frame, d.frame.bytes.slice(), 1);
    }
    const resp = (cpuNs() - t) / n;
    bestReq = Math.min(bestReq, req);
    bestResp = Math.min(bestResp, resp);
  }
  console.log(
    `${pair.label}: request ${bestReq.toFixed(0)} ns, response ${bestResp.toFixed(0)} ns (best of 15)`,
  );
}

/** CPU time of this process (user + system), ns: steadier than wall time on a shared machine. */
function cpuNs(): number {
  const u = cpuUsage();
  return (u.user + u.system) * 1000;
}
