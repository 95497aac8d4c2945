/**
 * Real npm `thrift` peers for every transport × protocol pair: the bytes a real client and server exchange
 * (recorded by a TCP tap) decode with the right method, seqid and type; and our local replies, written to
 * a real client, make its call reject with a TApplicationException instead of hanging.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import type { Frame } from "../../../codecs/codec.ts";
import { thriftCodecFactory } from "../../../codecs/thrift/mod.ts";
import { connectThriftClient, PEER_PAIRS, startThriftServer } from "../../support/thrift_peer.ts";
import { feed } from "./feed.ts";
import { concatBytes } from "../../../crds/bytes.ts";

const thrift = createRequire(import.meta.url)("thrift");
const factory = thriftCodecFactory();

/** A TCP tap on a free port forwarding to `target` and recording both directions. */
function startTap(target: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const up: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, log: Uint8Array[]) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await from.read(buf)) !== null;) {
        log.push(buf.slice(0, n));
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* closed by the test */ }
  };
  const pumps: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(client, server);
      pumps.push(pipe(client, server, up), pipe(server, client, down));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    up,
    down,
    async close() {
      listener.close();
      for (const c of conns) c.close();
      await Promise.all([accepting, ...pumps]);
    },
  };
}

const summary = (f: Frame) => `${f.type}:${f.metadata.get("method")}:${f.ok}`;

for (const pair of PEER_PAIRS) {
  for (const multiplexed of [false, true]) {
    const label = `${pair.transport}/${pair.protocol}${multiplexed ? " multiplexed" : ""}`;
    Deno.test(`real peers ${label}: recorded traffic decodes`, async () => {
      const server = await startThriftServer({ ...pair, name: "up1", multiplexed });
      const tap = startTap(server.port);
      const echo = await connectThriftClient({ ...pair, port: tap.port, multiplexed });
      const calc = multiplexed
        ? await connectThriftClient({ ...pair, port: tap.port, multiplexed, service: "Calc" })
        : undefined;
      try {
        assert.equal(await echo.client.echo("hi"), "up1:hi");
        assert.equal(await echo.client.add(2, 40), 42);
        await assert.rejects(echo.client.find("nope"), (e: { key?: string }) => e.key === "nope");
        echo.client.ping("me");
        assert.equal((await echo.client.blob(Buffer.alloc(200_000, 7))).length, 200_000);
        if (calc) assert.equal(await calc.client.mul(6, 7), 42);
      } finally {
        await echo.close();
        await calc?.close();
        await tap.close();
        await server.close();
      }
      const prefix = multiplexed ? "Echo:" : "";
      const requests = feed(factory.create("server"), tap.up.slice(0, tap.up.length));
      const responses = feed(factory.create("client"), tap.down);
      assert.equal(requests.error, undefined, label);
      assert.equal(responses.error, undefined, label);
      const reqs = requests.frames.map((d) => summary(d.frame));
      const expectedReqs = ["echo", "add", "find", "ping", "blob"].map((m) =>
        `${m === "ping" ? "oneway" : "request"}:${prefix}${m}:true`
      );
      if (calc) expectedReqs.push("request:Calc:mul:true");
      assert.deepEqual(reqs, expectedReqs, label);
      if (multiplexed) assert.equal(requests.frames[0].frame.metadata.get("service"), "Echo");
      const resps = responses.frames.map((d) => `${d.frame.type}:${d.frame.ok}`);
      const expectedResps = ["response:true", "response:true", "error:false", "response:true"];
      if (calc) expectedResps.push("response:true");
      assert.deepEqual(resps, expectedResps, label);
      // Replies carry their request's seqid (per client connection).
      const twoWay = requests.frames.filter((d) => d.frame.type === "request").slice(0, 4);
      assert.deepEqual(
        responses.frames.slice(0, 4).map((d) => d.frame.requestId),
        twoWay.map((d) => d.frame.requestId),
      );
    });

    Deno.test(`real peers ${label}: a local reply rejects the client's call`, async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const serving = (async () => {
        const conn = await listener.accept();
        const codec = factory.create("server");
        const buf = new Uint8Array(1 << 16);
        let data: Uint8Array = new Uint8Array(0);
        try {
          for (let n; (n = await conn.read(buf)) !== null;) {
            data = concatBytes([data, buf.subarray(0, n)]);
            const r = codec.decode(data);
            if (r.kind !== "frame") continue;
            const reply = codec.localReply(r.frame, { kind: "route_not_found", message: "no route for you" });
            data = data.slice(r.size);
            if (reply) await conn.write(reply);
          }
        } finally {
          conn.close();
        }
      })();
      const client = await connectThriftClient({
        ...pair,
        port: (listener.addr as Deno.NetAddr).port,
        multiplexed,
      });
      try {
        await assert.rejects(client.client.echo("hi"), (e: unknown) => {
          assert.ok(e instanceof thrift.Thrift.TApplicationException, `${label}: ${e}`);
          assert.equal((e as { message: string }).message, "no route for you");
          assert.equal((e as { type: number }).type, 1); // UNKNOWN_METHOD
          return true;
        });
        // The connection stays usable: a second call is answered (and rejected) too.
        await assert.rejects(client.client.add(1, 2), thrift.Thrift.TApplicationException);
      } finally {
        await client.close();
        listener.close();
        await serving;
      }
    });
  }
}
