import assert from "node:assert/strict";
import { HashRing } from "../../proxy/hash_ring.ts";

Deno.test("HashRing: a hash picks the first point at or after it, wrapping past the last; points are sorted", () => {
  const ring = new HashRing<string>([[300, "c"], [100, "a"], [200, "b"]]);
  assert.equal(ring.size, 3);
  assert.equal(ring.pick(0), "a");
  assert.equal(ring.pick(100), "a");
  assert.equal(ring.pick(101), "b");
  assert.equal(ring.pick(200), "b");
  assert.equal(ring.pick(250), "c");
  assert.equal(ring.pick(301), "a");
  assert.equal(ring.pick(0xffffffff), "a");
  assert.equal(new HashRing([]).size, 0);
});
