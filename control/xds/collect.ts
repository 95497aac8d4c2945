/**
 * A full V8 garbage collection on demand, for the control plane to run after work that leaves much garbage
 * in the old generation: the initial load, the first translation of a large mesh, a new model served, many
 * response bytes written (request decodes, write buffers). V8's own heuristics let that garbage, and the
 * buffers outside the heap it holds, stay resident for seconds. `--expose-gc` is switched on at run time
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
