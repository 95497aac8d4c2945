/**
 * A real xDS peer: `@grpc/grpc-js-xds` resolves `xds:///greeter` through metamesh's ADS server, calls a
 * grpc-js greeter, then rejects an invalid cluster (NACK reaches metamesh's log, metrics and
 * /debug/connections) while calls keep working on the old config.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as xds from "@grpc/grpc-js-xds";
import { TypeUrls } from "../../../crds/protos.ts";
import { SnapshotCache } from "../../../control/xds/cache.ts";
import { startControlServer } from "../../../control/xds/control_server.ts";
import { edsCluster, serviceSet, snapshotOf } from "./fixtures.ts";

const GREETER_PROTO = `syntax = "proto3";
package helloworld;
service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
`;
const BOOTSTRAP_KEY = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";
const NODE_ID = "proxyless~10.0.0.5~client.demo~demo.svc.cluster.local";

type GreeterClient = grpc.Client & {
  SayHello(req: { name: string }, cb: (e: grpc.ServiceError | null, r?: { message: string }) => void): void;
};

async function greeterDefinition() {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/greeter.proto`, GREETER_PROTO);
    const def = protoLoader.loadSync(`${dir}/greeter.proto`);
    return grpc.loadPackageDefinition(def).helloworld as grpc.GrpcObject;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sayHello(client: GreeterClient, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.SayHello({ name }, (error, reply) => error ? reject(error) : resolve(reply!.message));
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name:
    "grpc-js-xds: LDS/RDS/CDS/EDS ACKed, real call via xds:///greeter, NACK of a bad cluster, calls continue",
  // grpc-js-xds's XdsClient leaves two intervals and a timer running after its channel closes.
  sanitizeOps: false,
  async fn() {
    xds.register();
    const helloworld = await greeterDefinition();
    const Greeter = helloworld.Greeter as grpc.ServiceClientConstructor;
    const backend = new grpc.Server();
    backend.addService(Greeter.service, {
      SayHello: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { message: `hello ${call.request.name}` }),
    });
    const backendPort = await new Promise<number>((resolve, reject) =>
      backend.bindAsync(
        "127.0.0.1:0",
        grpc.ServerCredentials.createInsecure(),
        (e, p) => e ? reject(e) : resolve(p),
      )
    );

    const lines: string[] = [];
    const cache = new SnapshotCache();
    const good = snapshotOf(serviceSet("greeter", backendPort));
    assert.ok(cache.setSnapshot(NODE_ID, good));
    const control = await startControlServer({
      cache,
      xdsPort: 0,
      adminPort: 0,
      hostname: "127.0.0.1",
      debounceMs: 20,
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    const bootstrap = {
      xds_servers: [{
        server_uri: `127.0.0.1:${control.xdsPort}`,
        channel_creds: [{ type: "insecure" }],
        server_features: ["xds_v3"],
      }],
      node: { id: NODE_ID, cluster: "demo", locality: { region: "r1", zone: "z1" } },
    };
    const client = new Greeter("xds:///greeter", grpc.credentials.createInsecure(), {
      [BOOTSTRAP_KEY]: JSON.stringify(bootstrap),
    }) as unknown as GreeterClient;
    try {
      const started = performance.now();
      assert.equal(await sayHello(client, "metamesh"), "hello metamesh");
      const firstCallMs = performance.now() - started;

      const acked = () => control.ads.streams()[0]?.types ?? {};
      await until("four ACKs", () => ["LDS", "RDS", "CDS", "EDS"].every((t) => acked()[t]?.ackedVersion));
      const [stream] = control.ads.streams();
      assert.equal(stream.nodeId, NODE_ID);
      assert.equal(stream.types.LDS.ackedVersion, good.version(TypeUrls.listener));
      assert.equal(stream.types.RDS.ackedVersion, good.version(TypeUrls.routes));
      assert.equal(stream.types.CDS.ackedVersion, good.version(TypeUrls.cluster));
      assert.equal(stream.types.EDS.ackedVersion, good.version(TypeUrls.endpoints));
      assert.deepEqual(stream.types.LDS.subscribed, ["greeter"]);

      const admin = `http://127.0.0.1:${control.adminPort}`;
      const ready = await fetch(`${admin}/ready`);
      assert.equal([ready.status, await ready.text()].join(" "), "200 ready\n");
      const dump = await (await fetch(`${admin}/debug/config_dump?node=${NODE_ID}`)).json();
      assert.equal(dump[TypeUrls.cluster].resources[0].name, "greeter-cluster");
      assert.equal(dump[TypeUrls.cluster].version_info, good.version(TypeUrls.cluster));
      const connections = await (await fetch(`${admin}/debug/connections`)).json();
      assert.equal(connections.streams[0].nodeId, NODE_ID);

      // Invalid for grpc-js: an lb_policy it does not implement. It NACKs; metamesh logs and counts it.
      const bad = snapshotOf({
        ...serviceSet("greeter", backendPort),
        clusters: [edsCluster("greeter-cluster", "greeter-eds", "MAGLEV")],
      });
      assert.ok(cache.setSnapshot(NODE_ID, bad));
      await until("a CDS NACK", () => control.ads.metrics.get("nacks", TypeUrls.cluster) > 0);
      const nack = control.ads.streams()[0].types.CDS;
      assert.equal(nack.ackedVersion, good.version(TypeUrls.cluster), "still on the good version");
      assert.equal(nack.lastNack?.version, bad.version(TypeUrls.cluster));
      assert.match(nack.lastNack!.message, /unsupported lb_policy: MAGLEV/);
      const logged = lines.find((l) => l.startsWith("warn NACK"));
      assert.ok(logged);
      assert.ok(logged.includes(NODE_ID) && logged.includes("CDS") && logged.includes("MAGLEV"), logged);
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      assert.match(metrics, /metamesh_xds_nacks_total\{type="CDS",[^}]*\} 1/);
      assert.match(metrics, /metamesh_xds_connected_streams 1/);

      // No resend loop, and calls keep working on the last good config.
      const pushes = control.ads.metrics.get("pushes", TypeUrls.cluster);
      for (let i = 0; i < 5; i++) assert.equal(await sayHello(client, `again ${i}`), `hello again ${i}`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(control.ads.metrics.get("pushes", TypeUrls.cluster), pushes);
      console.log(`first call through xds:/// in ${firstCallMs.toFixed(0)} ms`);
    } finally {
      client.close();
      await control.close();
      backend.forceShutdown();
    }
  },
});
