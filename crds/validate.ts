/**
 * Validation of one configuration document (from a file or the Kubernetes API) against the resource schemas:
 * the result is a typed resource with its key, a readable error naming origin, kind, object, field path and
 * reason, or "skipped" for kinds metamesh does not read.
 *
 * @module
 */
import type { z } from "zod";
import { isResourceKind, KINDS, type Resource, type ResourceKind } from "./resources/mod.ts";

/** Identity of a resource. Cluster-scoped kinds (ApplicationProtocol, Namespace) have namespace `""`. */
export interface ResourceKey {
  readonly kind: ResourceKind;
  readonly namespace: string;
  readonly name: string;
}

/** The outcome of {@link validateResource}. */
export type ValidationResult =
  | { readonly ok: true; readonly resource: Resource; readonly key: ResourceKey }
  | {
    readonly ok: false;
    readonly skipped: false;
    /** `Cannot load <Kind> <ns>/<name> from <origin>: <field path>: <reason>[; …]`. */
    readonly error: string;
    /** The key, when kind and name could be read (so a store can keep the last good version). */
    readonly key?: ResourceKey;
  }
  | {
    readonly ok: false;
    readonly skipped: true;
    /** `unsupported kind X (apiVersion)`, `empty document` or `not a Kubernetes object …`. */
    readonly reason: string;
  };

/** Options of {@link validateResource}. */
export interface ValidateOptions {
  /** Namespace given to namespaced objects without `metadata.namespace` (files); default `"default"`. */
  readonly defaultNamespace?: string;
}

/** How many zod issues an error message lists before "and N more". */
const MAX_ISSUES = 5;

/**
 * Validates one document. `origin` names where it came from: `path#index` for a file document, `"kube API"`
 * for an object from a watch. The input is not modified; the returned resource is a fresh object with
 * `metadata.namespace` filled in for namespaced kinds.
 */
export function validateResource(
  obj: unknown,
  origin: string,
  options: ValidateOptions = {},
): ValidationResult {
  if (obj === null || obj === undefined) return { ok: false, skipped: true, reason: "empty document" };
  if (typeof obj !== "object" || Array.isArray(obj)) {
    return {
      ok: false,
      skipped: false,
      error: `Cannot load document from ${origin}: not a YAML/JSON object`,
    };
  }
  const { kind, apiVersion } = obj as { kind?: unknown; apiVersion?: unknown };
  if (kind === undefined && apiVersion === undefined) {
    return { ok: false, skipped: true, reason: "not a Kubernetes object (no apiVersion, no kind)" };
  }
  if (typeof kind !== "string" || kind === "") {
    return { ok: false, skipped: false, error: `Cannot load document from ${origin}: kind is missing` };
  }
  if (!isResourceKind(kind) || !groupMatches(kind, apiVersion)) {
    return { ok: false, skipped: true, reason: `unsupported kind ${kind} (${String(apiVersion)})` };
  }
  const info = KINDS[kind];
  const key = keyOf(kind, obj, options.defaultNamespace ?? "default");
  const where = `${kind} ${key ? displayName(key) : "(unnamed)"} from ${origin}`;
  const parsed = info.schema.safeParse(dropNulls(obj, false));
  if (!parsed.success) {
    return { ok: false, skipped: false, error: `Cannot load ${where}: ${describeIssues(parsed.error)}`, key };
  }
  if (key === undefined) throw new Error(`Cannot key ${where}: schema accepted an object without a name`);
  const resource = parsed.data as Resource;
  if (info.namespaced) resource.metadata.namespace = key.namespace;
  return { ok: true, resource, key };
}

/** `ns/name`, or just `name` for cluster-scoped kinds. */
export function displayName(key: ResourceKey): string {
  return key.namespace === "" ? key.name : `${key.namespace}/${key.name}`;
}

/** A stable string form of a key, for maps: `Kind/ns/name`. */
export function keyString(key: ResourceKey): string {
  return `${key.kind}/${key.namespace}/${key.name}`;
}

/**
 * The documents inside a parsed YAML/JSON value: a `List` kind (`v1/List`, `…List`) becomes its `items`, anything
 * else is one document.
 */
export function expandList(doc: unknown): unknown[] {
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const { kind, items } = doc as { kind?: unknown; items?: unknown };
    if (typeof kind === "string" && kind.endsWith("List") && (Array.isArray(items) || items === null)) {
      return items ?? [];
    }
  }
  return [doc];
}

/** Formats a zod issue path like `spec.routes[0].route[0].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_$][\w$]*$/.test(part)) {
      out += out === "" ? part : `.${part}`;
    } else out += `[${JSON.stringify(String(part))}]`;
  }
  return out === "" ? "(document)" : out;
}

function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, MAX_ISSUES).map((issue) =>
    `${formatPath(issue.path)}: ${issue.message}`
  );
  const more = error.issues.length - MAX_ISSUES;
  return more > 0 ? `${parts.join("; ")}; and ${more} more` : parts.join("; ");
}

function groupMatches(kind: ResourceKind, apiVersion: unknown): boolean {
  // A wrong version of the right group is a validation error; another group (e.g. the Gateway API's
  // gateway.networking.k8s.io Gateway) is a different kind altogether.
  if (typeof apiVersion !== "string") return true;
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  return group === KINDS[kind].group;
}

function keyOf(kind: ResourceKind, obj: object, defaultNamespace: string): ResourceKey | undefined {
  const metadata = (obj as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  if (typeof metadata?.name !== "string" || metadata.name === "") return undefined;
  let namespace = "";
  if (KINDS[kind].namespaced) {
    namespace = typeof metadata.namespace === "string" && metadata.namespace !== ""
      ? metadata.namespace
      : defaultNamespace;
  }
  return { kind, namespace, name: metadata.name };
}

/**
 * Removes `null`-valued object fields, as the API server prunes them for non-nullable fields, so `hosts:` with
 * no value reads as absent. Inside an `attributes` map `null` means "present" (MetaRouter) and is kept.
 */
function dropNulls(value: unknown, keepNullValues: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => dropNulls(v, false));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null && !keepNullValues) continue;
    out[k] = dropNulls(v, k === "attributes");
  }
  return out;
}
