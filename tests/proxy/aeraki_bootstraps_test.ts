/**
 * Every Aeraki data-plane bootstrap in shared/aeraki/dataplane-envoy-configs loads and starts (listener and
 * admin ports moved to 0 so this file can run beside the fixed-port Dubbo e2e test). Codecs metamesh does
 * not ship (brpc) fail with an error naming the field.
 */
import assert from "node:assert/strict";
import "../../codecs/builtin.ts";
import { loadBootstrapFile } from "../../crds/proto_json.ts";
import { startProxy } from "../../proxy/run.ts";
import { aerakiPath } from "../support/paths.ts";

type Obj = Record<string, unknown>;

function files(): string[] {
  const out: string[] = [];
  const root = aerakiPath("dataplane-envoy-configs");
  for (const dir of Deno.readDirSync(root)) {
    if (!dir.isDirectory) continue;
    for (const f of Deno.readDirSync(`${root}/${dir.name}`)) {
      if (f.name.startsWith("test") && f.name.endsWith(".yaml")) out.push(`${root}/${dir.name}/${f.name}`);
    }
  }
  return out.sort();
}

function portsToZero(bootstrap: Obj): void {
  const sa = ((bootstrap.admin as Obj | undefined)?.address as Obj | undefined)?.socket_address as
    | Obj
    | undefined;
  if (sa) sa.port_value = 0;
  for (const l of ((bootstrap.static_resources as Obj).listeners ?? []) as Obj[]) {
    ((l.address as Obj).socket_address as Obj).port_value = 0;
  }
}

for (const path of files()) {
  const short = path.split("dataplane-envoy-configs/")[1];
  Deno.test(`aeraki bootstrap ${short} starts`, async () => {
    const { bootstrap, warnings } = loadBootstrapFile(path);
    portsToZero(bootstrap);
    const logs: string[] = [];
    const proxy = await startProxy({
      bootstrap,
      origin: path,
      unknownFields: warnings,
      log: (m) => logs.push(m),
    });
    try {
      assert.equal(proxy.listeners.size, 1);
      assert.ok([...proxy.listeners.values()][0] > 0);
      assert.ok(logs.filter((l) => l.includes("unsupported")).length <= 1);
      if (short.startsWith("global-ratelimit/")) {
        assert.doesNotMatch(proxy.warning ?? "", /filters\.ratelimit/); // implemented
      }
    } finally {
      await proxy.close();
    }
  });
}
