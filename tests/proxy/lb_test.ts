import assert from "node:assert/strict";
import { endpoint } from "../../proxy/cluster_manager.ts";
import { createLoadBalancer } from "../../proxy/lb.ts";

const eps = [endpoint("10.0.0.1", 1), endpoint("10.0.0.2", 1, 3), endpoint("10.0.0.3", 1)];

function counts(policy: string, n: number, hash?: (i: number) => string) {
  const lb = createLoadBalancer(policy, eps, new Map());
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = lb.pick(hash?.(i))!;
    out.set(e.host, (out.get(e.host) ?? 0) + 1);
  }
  return out;
}

Deno.test("lb: weighted round robin is exact per cycle", () => {
  const c = counts("ROUND_ROBIN", 500);
  assert.deepEqual([c.get("10.0.0.1"), c.get("10.0.0.2"), c.get("10.0.0.3")], [100, 300, 100]);
});

Deno.test("lb: random follows weights", () => {
  const c = counts("RANDOM", 5000);
  assert.ok(c.get("10.0.0.2")! > 2600 && c.get("10.0.0.2")! < 3400);
});

Deno.test("lb: least request prefers the idle endpoint", () => {
  const active = new Map([["10.0.0.1:1", 100], ["10.0.0.2:1", 100]]);
  const lb = createLoadBalancer("LEAST_REQUEST", eps, active);
  let idle = 0;
  for (let i = 0; i < 1000; i++) if (lb.pick()!.host === "10.0.0.3") idle++;
  assert.ok(idle > 400, `idle picked ${idle}`);
});

for (const policy of ["RING_HASH", "MAGLEV"]) {
  Deno.test(`lb: ${policy} is consistent per key, spreads keys, and moves few keys when an endpoint leaves`, () => {
    const lb = createLoadBalancer(policy, eps, new Map());
    for (let i = 0; i < 50; i++) assert.equal(lb.pick(`user${i}`), lb.pick(`user${i}`));
    const c = counts(policy, 3000, (i) => `user${i}`);
    assert.equal(c.size, 3);
    assert.ok(c.get("10.0.0.2")! > c.get("10.0.0.1")!, "weight 3 gets more keys");
    const fewer = createLoadBalancer(policy, [eps[0], eps[1]], new Map());
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      const before = lb.pick(`k${i}`)!;
      if (before.host !== "10.0.0.3" && fewer.pick(`k${i}`)!.host !== before.host) moved++;
    }
    assert.ok(moved < 150, `${moved} keys moved needlessly`);
  });
}
