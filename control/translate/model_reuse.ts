/**
 * Identity reuse across mesh models: each `MeshService` remembers the objects it was built from (validated
 * resources keep their identity in the store while unchanged), so the next `buildMeshModel` hands back the
 * same `MeshService` when all of them are the same again, and caches keyed by it stay valid.
 *
 * @module
 */
import type { MeshService } from "./model.ts";

const inputsOf = new WeakMap<MeshService, readonly unknown[]>();

/** `previous` when it was built from exactly `inputs` (compared element by element, by identity). */
export function reusedService(
  previous: MeshService | undefined,
  inputs: readonly unknown[],
): MeshService | undefined {
  const before = previous && inputsOf.get(previous);
  if (!before || before.length !== inputs.length) return undefined;
  for (let i = 0; i < inputs.length; i++) if (before[i] !== inputs[i]) return undefined;
  return previous;
}

/** Records what `service` was built from; returns it. */
export function rememberInputs(service: MeshService, inputs: readonly unknown[]): MeshService {
  inputsOf.set(service, inputs);
  return service;
}
