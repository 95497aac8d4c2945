/**
 * A full V8 garbage collection on demand, for the ADS server to run after it has written a lot of response
 * bytes. Each write is a fresh copy (grpc-js frames every message into a new buffer) that stays alive until
 * HTTP/2 has sent it, so it is promoted to the old generation and, being outside the V8 heap, freed only at
 * the next full collection, which the heap's own growth rarely triggers: hundreds of MiB of sent responses
 * would otherwise stay resident after an initial sync. `--expose-gc` is switched on at run time
 * (`node:v8` `setFlagsFromString`) and `gc` taken from a fresh context, so no command-line flag is needed.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let cached: (() => void) | null | undefined;
let trimmer: (() => void) | null | undefined;

/**
 * glibc's `malloc_trim(0)` (via FFI, when `--allow-ffi` is granted): buffers live in malloc's heap, which
 * keeps the pages of freed blocks resident; trimming after a collection hands them back to the system.
 */
function mallocTrim(): (() => void) | undefined {
  if (trimmer === undefined) {
    trimmer = null;
    try {
      if (Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
        const lib = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
        trimmer = () => void lib.symbols.malloc_trim(0n);
      }
    } catch {
      trimmer = null; // not glibc, or no FFI
    }
  }
  return trimmer ?? undefined;
}

/** The V8 `gc()` function (then `malloc_trim` where possible), or `undefined` when the runtime does not allow it. */
export function fullCollection(): (() => void) | undefined {
  if (cached === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc");
      const trim = mallocTrim();
      cached = typeof gc === "function"
        ? () => {
          gc();
          trim?.();
        }
        : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
