import assert from "node:assert/strict";
import { ConnWriter, MAX_QUEUED } from "../../proxy/conn_writer.ts";

/** A stand-in connection that records writes; `stall` keeps the first write pending forever. */
function fakeConn(stall = false) {
  const writes: number[] = [];
  const conn = {
    write(b: Uint8Array): Promise<number> {
      writes.push(b.length);
      return stall ? new Promise(() => {}) : Promise.resolve(b.length);
    },
  };
  return { conn: conn as unknown as Deno.Conn, writes };
}

Deno.test("conn writer: frames pushed in one tick leave in one write, later ones in the next", async () => {
  const { conn, writes } = fakeConn();
  const w = new ConnWriter(conn);
  for (let i = 0; i < 10; i++) w.push(new Uint8Array(10));
  await w.flushed();
  w.push(new Uint8Array(5));
  await w.flushed();
  assert.deepEqual(writes, [100, 5]);
  assert.equal(w.written, 105);
});

Deno.test("conn writer: a peer that stops reading is cut off past the queue cap", async () => {
  const { conn } = fakeConn(true);
  let error: unknown;
  const w = new ConnWriter(conn, (e) => (error = e));
  w.push(new Uint8Array(1024));
  await new Promise((r) => setTimeout(r, 0)); // the first write is now stuck
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i <= MAX_QUEUED / chunk.length && !w.closed; i++) w.push(chunk);
  assert.equal(w.closed, true);
  assert.ok(error instanceof RangeError);
  w.push(chunk); // ignored once closed
  assert.equal(w.pending, 0);
});
