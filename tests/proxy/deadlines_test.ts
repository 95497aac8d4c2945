import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { Deadlines } from "../../proxy/deadlines.ts";

Deno.test("deadlines: live items expire after their timeout, finished ones never do, one timer per timeout", () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  try {
    const d = new Deadlines();
    const fired: string[] = [];
    const item = (name: string) => {
      let done = false;
      return {
        finish: () => (done = true),
        live: () => !done,
        expired() {
          done = true;
          fired.push(name);
        },
      };
    };
    const a = item("a"), b = item("b"), c = item("c"), slow = item("slow");
    d.add(100, a);
    clock.tick(30);
    d.add(100, b);
    d.add(500, slow);
    clock.tick(30);
    d.add(100, c);
    a.finish();
    clock.tick(50); // t=110: a would have expired, but finished
    assert.deepEqual(fired, []);
    clock.tick(30); // t=140: b (added at 30) is due
    assert.deepEqual(fired, ["b"]);
    clock.tick(30); // t=170: c (added at 60) is due
    assert.deepEqual(fired, ["b", "c"]);
    clock.tick(400);
    assert.deepEqual(fired, ["b", "c", "slow"]);
    assert.equal(clock.countTimers(), 0);
    d.add(100, item("never"));
    d.close();
    assert.equal(clock.countTimers(), 0);
  } finally {
    clock.uninstall();
  }
});
