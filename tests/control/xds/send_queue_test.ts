import assert from "node:assert/strict";
import { SendQueue } from "../../../control/xds/send_queue.ts";

Deno.test("SendQueue: writes wait for the byte budget, in order; a write over budget goes alone", () => {
  const queue = new SendQueue(10);
  const a = queue.channel();
  const b = queue.channel();
  const started: string[] = [];
  const dones = new Map<string, () => void>();
  const write = (label: string) => (done: () => void) => {
    started.push(label);
    dones.set(label, done);
  };
  a.send(6, write("a1"));
  b.send(6, write("b1"));
  a.send(20, write("a2"));
  assert.deepEqual(started, ["a1"]);
  assert.equal(queue.waiting, 2);
  dones.get("a1")!();
  dones.get("a1")!(); // idempotent
  assert.deepEqual(started, ["a1", "b1"]);
  assert.equal(queue.inFlight, 6);
  dones.get("b1")!();
  assert.deepEqual(started, ["a1", "b1", "a2"]); // larger than the budget: alone
  assert.equal(queue.inFlight, 20);
  dones.get("a2")!();
  assert.equal(queue.inFlight, 0);
  assert.equal(queue.waiting, 0);
});

Deno.test("SendQueue: closing a channel releases its bytes and drops its waiting writes", () => {
  const queue = new SendQueue(10);
  const a = queue.channel();
  const b = queue.channel();
  const started: string[] = [];
  a.send(8, () => started.push("a1"));
  a.send(8, () => started.push("a2"));
  b.send(8, () => started.push("b1"));
  assert.deepEqual(started, ["a1"]);
  a.close(); // a1 never reports back (cancelled call)
  assert.deepEqual(started, ["a1", "b1"]);
  assert.equal(queue.inFlight, 8);
  a.send(1, () => started.push("a3"));
  assert.deepEqual(started, ["a1", "b1"]);
});

Deno.test("SendQueue: runs the after-writes hook once per `every` bytes written, outside the write callback", async () => {
  let runs = 0;
  const queue = new SendQueue(100, { every: 10, run: () => runs++ });
  const channel = queue.channel();
  for (let i = 0; i < 3; i++) channel.send(4, (done) => done());
  assert.equal(runs, 0);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(runs, 1);
});
