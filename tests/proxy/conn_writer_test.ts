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

Deno.test("conn writer: batches reuse one scratch buffer without corrupting bytes in flight", async () => {
  const seen: number[][] = [];
  let release: (() => void) | undefined;
  const conn = {
    async write(b: Uint8Array): Promise<number> {
      await new Promise<void>((r) => (release = r)); // in flight until released
      seen.push([...b]); // what the kernel would copy at completion
      return b.length;
    },
  } as unknown as Deno.Conn;
  const w = new ConnWriter(conn);
  w.push(Uint8Array.of(1));
  w.push(Uint8Array.of(2, 3));
  await new Promise((r) => setTimeout(r, 0)); // first batch in flight
  w.push(Uint8Array.of(4)); // queued while the scratch buffer is still being written
  w.push(Uint8Array.of(5, 6));
  release!();
  await new Promise((r) => setTimeout(r, 0));
  release!();
  await w.flushed();
  w.push(Uint8Array.of(7)); // a single frame is written as is
  await new Promise((r) => setTimeout(r, 0));
  release!();
  await w.flushed();
  assert.deepEqual(seen, [[1, 2, 3], [4, 5, 6], [7]]);
  assert.equal(w.written, 7);
});
