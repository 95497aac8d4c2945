/**
 * Paths tests share: the repository root and the read-only `shared/` folder beside it (Aeraki's own
 * artifacts and the spec notes), found the same way on a developer machine and in CI.
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const repoRoot: string = resolve(fileURLToPath(new URL("../../", import.meta.url)));

/** Absolute path of `shared/` (a sibling of the repository). */
export const sharedDir: string = resolve(repoRoot, "../shared");

/** Absolute path of a file under `shared/aeraki/`. */
export function aerakiPath(...parts: string[]): string {
  return resolve(sharedDir, "aeraki", ...parts);
}
