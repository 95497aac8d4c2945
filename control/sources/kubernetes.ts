/**
 * The Kubernetes configuration source: one reflector per kind (and per namespace with `--namespaces`) that
 * LISTs, then WATCHes from the list's resourceVersion, feeding the store.
 *
 * - A relist (start, `410 Gone` as HTTP status or ERROR event) replaces that reflector's store source in one
 *   batch: objects that still exist cause no change, vanished ones are removed.
 * - A watch stream that ends or breaks is re-opened from the last seen resourceVersion (BOOKMARKs advance it),
 *   after an exponential, capped, jittered backoff when it failed.
 * - Istio kinds use the version the server serves: `istioVersion`, else v1beta1, then v1alpha3, then v1.
 * - An invalid object keeps its last good version in the store; the error is recorded (origin `kube API`).
 *
 * @module
 */
import { apiVersionOf, KINDS, RESOURCE_KINDS, type ResourceKind } from "../../crds/resources/mod.ts";
import { validateResource } from "../../crds/validate.ts";
import { inClusterConnection, type KubeConnection, loadKubeconfig } from "./kubeconfig.ts";
import { KubeHttpError, kubeList, kubeWatch } from "./kube_client.ts";
import { resourceKey, type ResourceStore } from "./store.ts";
import type { Log } from "../xds/log.ts";

/** Options of {@link startKubernetesSource}. */
export interface KubernetesSourceOptions {
  /** Kubeconfig file; without it (and without `connection`) the in-cluster service account is used. */
  readonly kubeconfig?: string;
  /** Kubeconfig context; default its `current-context`. */
  readonly context?: string;
  /** An already resolved connection (tests). */
  readonly connection?: KubeConnection;
  /** Namespaces to watch; empty/absent = all. Cluster-scoped kinds are always watched cluster-wide. */
  readonly namespaces?: readonly string[];
  /** Kinds to watch; default all supported kinds. */
  readonly kinds?: readonly ResourceKind[];
  /** `networking.istio.io` version to use; default: the first of v1beta1, v1alpha3, v1 the server serves. */
  readonly istioVersion?: string;
  /** First retry delay (ms); doubles per failure up to `maxBackoffMs`. Default 500. */
  readonly initialBackoffMs?: number;
  /** Backoff cap (ms). Default 30 000. */
  readonly maxBackoffMs?: number;
  /** Where retries and relists are logged (relists at `debug`); default: all but `debug` to stderr. */
  readonly log?: Log;
}

/** A running Kubernetes source. */
export interface KubernetesSource {
  /** Resolves once every reflector completed its first LIST (never rejects; stays pending while unreachable). */
  readonly ready: Promise<void>;
  /** Stops all list/watch loops; resolves when they ended. Resources stay in the store. */
  close(): Promise<void>;
}

/** Starts list/watch loops for every configured kind, feeding `store`. */
export function startKubernetesSource(
  options: KubernetesSourceOptions,
  store: ResourceStore,
): KubernetesSource {
  const abort = new AbortController();
  const log: Log = options.log ?? ((level, message) => level !== "debug" && console.error(message));
  const kinds = options.kinds ?? RESOURCE_KINDS;
  const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
  const readies: Promise<void>[] = [];
  const loops: Promise<void>[] = [];
  const connecting = options.connection ? Promise.resolve(options.connection) : resolveConnection(options);
  for (const kind of kinds) {
    for (const namespace of KINDS[kind].namespaced ? namespaces : [undefined]) {
      const { promise, resolve } = Promise.withResolvers<void>();
      readies.push(promise);
      const reflector = new Reflector({ kind, namespace, store, options, signal: abort.signal, log });
      loops.push(
        connecting.then((conn) => reflector.run(conn, resolve)).catch((error) => {
          if (!abort.signal.aborted) log("error", `Cannot run Kubernetes source for ${kind}: ${error}`);
        }),
      );
    }
  }
  return {
    ready: Promise.all(readies).then(() => {}),
    async close() {
      abort.abort();
      await Promise.all(loops);
      if (!options.connection) (await connecting.catch(() => undefined))?.client?.close();
    },
  };
}

function resolveConnection(options: KubernetesSourceOptions): Promise<KubeConnection> {
  return options.kubeconfig ? loadKubeconfig(options.kubeconfig, options.context) : inClusterConnection();
}

/** Versions to try for `kind`, in order (Istio: the forced one, else v1beta1, v1alpha3, v1). */
function versionCandidates(kind: ResourceKind, forced?: string): readonly string[] {
  const info = KINDS[kind];
  if (info.group !== "networking.istio.io") return info.versions.slice(0, 1);
  return forced ? [forced] : info.versions;
}

interface ReflectorInit {
  kind: ResourceKind;
  namespace?: string;
  store: ResourceStore;
  options: KubernetesSourceOptions;
  signal: AbortSignal;
  log: Log;
}

/** List-then-watch of one kind in one namespace (or all). */
class Reflector {
  #init: ReflectorInit;
  #source: string;
  #version?: string;
  #failures = 0;
  /** 410s in a row with no watch event in between (a server that answers 410 right after every list). */
  #gone = 0;
  #events = 0;

  constructor(init: ReflectorInit) {
    this.#init = init;
    this.#source = `kube:${init.kind}${init.namespace ? `:${init.namespace}` : ""}`;
  }

  async run(conn: KubeConnection, onFirstList: () => void): Promise<void> {
    const { signal } = this.#init;
    let rv: string | undefined;
    let listedAt = -1;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await this.#list(conn);
          listedAt = this.#events;
          onFirstList();
        }
        const before = this.#events;
        rv = await this.#watch(conn, rv);
        // A stream that ended without a single event counts as a failure, so a server (or proxy) that keeps
        // closing watches at once cannot make us spin.
        if (this.#events === before) {
          this.#failures++;
          await sleep(this.#backoffMs(), signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof KubeHttpError && error.status === 410) {
          // Too old: list again, at once after a working watch; after backoff when no event came since the
          // last list (a server that keeps answering 410 must not make us spin).
          rv = undefined;
          if (this.#events === listedAt) {
            this.#gone++;
            this.#init.log("debug", `${this.#source}: 410 right after a list (${this.#gone} in a row)`);
            await sleep(this.#backoffMs(this.#gone), signal);
          }
          continue;
        }
        this.#failures++;
        this.#init.log("warn", `${error instanceof Error ? error.message : error}; retrying`);
        await sleep(this.#backoffMs(), signal);
      }
    }
  }

  /** Lists and replaces this reflector's store source; returns the list's resourceVersion. */
  async #list(conn: KubeConnection): Promise<string> {
    const { kind, store } = this.#init;
    const result = await this.#listAnyVersion(conn);
    const resources = [];
    const errors = [];
    for (const item of result.items) {
      const checked = validateResource(this.#complete(item), "kube API");
      if (checked.ok) resources.push(checked.resource);
      else if (!checked.skipped) {
        errors.push({ origin: "kube API", key: checked.key, message: checked.error });
      }
    }
    store.replaceSource(this.#source, resources, errors);
    if (this.#failures > 0 || this.#gone > 0) {
      this.#init.log("debug", `Relisted ${kind}: ${resources.length} objects`);
    }
    this.#failures = 0;
    return result.resourceVersion;
  }

  async #listAnyVersion(conn: KubeConnection) {
    const candidates = this.#version
      ? [this.#version]
      : versionCandidates(this.#init.kind, this.#init.options.istioVersion);
    for (const version of candidates) {
      try {
        const result = await kubeList(conn, this.#path(version), this.#init.signal);
        this.#version = version;
        return result;
      } catch (error) {
        if (!(error instanceof KubeHttpError && error.status === 404) || version === candidates.at(-1)) {
          throw error;
        }
      }
    }
    throw new Error(`Cannot list ${this.#init.kind}: no version to try`);
  }

  /** Watches from `rv` until the stream ends; returns the last resourceVersion seen. Throws 410 as KubeHttpError. */
  async #watch(conn: KubeConnection, rv: string): Promise<string> {
    const { store, signal } = this.#init;
    for await (const event of kubeWatch(conn, this.#path(this.#version!), rv, signal)) {
      if (event.type === "ERROR") {
        const code = Number(event.object.code);
        throw new KubeHttpError(
          code || 500,
          `Cannot watch ${this.#init.kind}: ${event.object.message ?? code}`,
        );
      }
      rv = event.object.metadata?.resourceVersion ?? rv;
      this.#failures = 0;
      this.#gone = 0;
      this.#events++;
      if (event.type === "BOOKMARK") continue;
      const checked = validateResource(this.#complete(event.object), "kube API");
      if (checked.ok) {
        if (event.type === "DELETED") store.delete(this.#source, resourceKey(checked.resource));
        else store.upsert(this.#source, checked.resource);
      } else if (!checked.skipped) {
        if (event.type === "DELETED" && checked.key) store.delete(this.#source, checked.key);
        else {store.reportError(this.#source, {
            origin: "kube API",
            key: checked.key,
            message: checked.error,
          });}
      }
    }
    return rv;
  }

  /** List items of core kinds carry no kind/apiVersion; fill them in. */
  #complete(item: unknown): unknown {
    const info = KINDS[this.#init.kind];
    return { kind: this.#init.kind, apiVersion: apiVersionOf(info, this.#version!), ...(item as object) };
  }

  #path(version: string): string {
    const info = KINDS[this.#init.kind];
    const base = info.group === "" ? `/api/${version}` : `/apis/${info.group}/${version}`;
    const ns = this.#init.namespace ? `/namespaces/${encodeURIComponent(this.#init.namespace)}` : "";
    return `${base}${ns}/${info.plural}`;
  }

  #backoffMs(failures = this.#failures): number {
    const { initialBackoffMs = 500, maxBackoffMs = 30_000 } = this.#init.options;
    return backoffDelay(failures, { initialMs: initialBackoffMs, maxMs: maxBackoffMs });
  }
}

/**
 * Delay before retry number `failures` (1-based): exponential from `initialMs`, capped at `maxMs`, with "equal
 * jitter" (half fixed, half random) so that many reflectors failing together do not retry in lockstep.
 */
export function backoffDelay(
  failures: number,
  options: { initialMs: number; maxMs: number; random?: () => number },
): number {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return exp / 2 + (options.random ?? Math.random)() * (exp / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
