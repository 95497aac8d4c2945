import assert from "node:assert/strict";
import { PendingSlots } from "../../../proxy/upstream/pending_slots.ts";

Deno.test("pending slots: ids are not reissued (answered, cancelled or callback-less), slots are", () => {
  const p = new PendingSlots<string>(4);
  const a = p.add("a"), b = p.add("b");
  assert.deepEqual([a, b], [1, 2]);
  assert.equal(p.take(a), "a");
  assert.equal(p.take(a), undefined); // a duplicate answer is unknown
  const c = p.add("c"); // the freed slot, next generation
  assert.equal(c, a + 4);
  assert.equal(p.cancel(b, "other"), false);
  assert.equal(p.cancel(b, "b"), true); // timed out: its answer may still come
  assert.equal(p.take(b), undefined); // ... and is dropped
  const d = p.add("d");
  assert.notEqual(d, b);
  assert.equal(p.take(b), undefined); // a late answer never reaches the slot's next request
  const mirror = p.add(undefined); // nothing waits, but an answer may come
  assert.equal(p.take(mirror), undefined);
  assert.notEqual(p.add("e"), mirror);
  assert.equal(p.size, 3);
  assert.equal(p.capacity, 4);
});

Deno.test("pending slots: growing keeps waiting items and never reissues an outstanding or retired id", () => {
  const p = new PendingSlots<number>(4);
  const issued = new Map<number, number>();
  const retired = new Set<number>();
  for (let i = 0; i < 4; i++) issued.set(p.add(i), i);
  const [first] = issued.keys();
  p.cancel(first, issued.get(first)!);
  retired.add(first);
  issued.delete(first);
  for (let i = 4; i < 40; i++) {
    const id = p.add(i); // grows 4 → 8 → 16 → 64
    assert.ok(!issued.has(id) && !retired.has(id), `id ${id} reissued`);
    issued.set(id, i);
  }
  assert.equal(p.size, 39);
  assert.ok(p.capacity >= 39);
  for (const [id, v] of issued) assert.equal(p.take(id), v);
  assert.equal(p.size, 0);
  assert.deepEqual(p.drain(), []);
});
