/**
 * A fake Kubernetes API server speaking the real list/watch protocol for every kind in `crds/resources/mod.ts`,
 * on a free loopback port, plain HTTP with a bearer token.
 *
 * - LIST `GET /api/v1/[namespaces/<ns>/]<plural>` and `/apis/<group>/<version>/[namespaces/<ns>/]<plural>` →
 *   `{kind: "<Kind>List", apiVersion, metadata: {resourceVersion}, items}`; like the real server, items of core
 *   kinds carry no `kind`/`apiVersion`.
 * - WATCH (`?watch=1&resourceVersion=<rv>[&allowWatchBookmarks=true]`) → chunked newline-delimited JSON events
 *   (ADDED/MODIFIED/DELETED, BOOKMARK on {@link FakeKubeApi.sendBookmarks}), replaying everything after `rv`; a
 *   `rv` older than the last {@link FakeKubeApi.compact} gets `410 Gone` (an ERROR event, or the HTTP status
 *   with `goneAsStatus`).
 * - One global, increasing resourceVersion. Unserved Istio versions answer 404.
 *
 * @module
 */
import { stringify } from "yaml";
import {
  apiVersionOf,
  isResourceKind,
  type KindInfo,
  KINDS,
  type ResourceKind,
} from "../../crds/resources/mod.ts";

/** Options of {@link FakeKubeApi.start}. */
export interface FakeKubeApiOptions {
  /** Bearer token required on every request; default `"fake-token"`. */
  readonly token?: string;
  /** `networking.istio.io` versions served; default `["v1alpha3", "v1beta1"]` (Istio 1.16). */
  readonly istioVersions?: readonly string[];
  /** Answer a too-old watch with HTTP 410 instead of a 200 stream holding an ERROR event. */
  readonly goneAsStatus?: boolean;
  /** Port to listen on; default 0 (any free port). */
  readonly port?: number;
}

type K8sObject = { kind: string; apiVersion?: string; metadata: { name: string; namespace?: string } };
type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface LoggedEvent {
  rv: number;
  type: EventType;
  kind: ResourceKind;
  object: K8sObject;
}

interface Watch {
  kind: ResourceKind;
  version: string;
  namespace?: string;
  bookmarks: boolean;
  controller: ReadableStreamDefaultController<Uint8Array>;
}

const encoder = new TextEncoder();

/** The fake server. Start with {@link FakeKubeApi.start}; always `close()`. */
export class FakeKubeApi {
  /** Every request path+query received, in order (for assertions). */
  readonly requests: string[] = [];
  #server!: Deno.HttpServer<Deno.NetAddr>;
  #options: FakeKubeApiOptions;
  #objects = new Map<string, K8sObject>();
  #log: LoggedEvent[] = [];
  #rv = 100;
  #compactedRv = 0;
  #watches = new Set<Watch>();

  private constructor(options: FakeKubeApiOptions) {
    this.#options = options;
  }

  /** Starts a server on 127.0.0.1 (`options.port`, default any free port). */
  static start(options: FakeKubeApiOptions = {}): FakeKubeApi {
    const api = new FakeKubeApi(options);
    api.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
      (req) => api.#handle(req),
    );
    return api;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The current (last issued) resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Writes a kubeconfig pointing at this server (token auth) and returns its path. */
  async writeKubeconfig(path?: string): Promise<string> {
    const file = path ?? await Deno.makeTempFile({ suffix: ".kubeconfig" });
    await Deno.writeTextFile(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "fake",
        clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "fake-user", user: { token: this.#token } }],
        contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user", namespace: "default" } }],
      }),
    );
    return file;
  }

  /** Adds an object (its `kind` must be supported); emits ADDED. Returns its resourceVersion. */
  create(obj: K8sObject): string {
    if (this.#objects.has(this.#id(obj))) throw new Error(`Cannot create ${this.#id(obj)}: already exists`);
    return this.#record("ADDED", obj);
  }

  /** Replaces an existing object; emits MODIFIED. */
  update(obj: K8sObject): string {
    if (!this.#objects.has(this.#id(obj))) throw new Error(`Cannot update ${this.#id(obj)}: not found`);
    return this.#record("MODIFIED", obj);
  }

  /** Removes an object; emits DELETED with its last state. */
  delete(obj: K8sObject): string {
    const current = this.#objects.get(this.#id(obj));
    if (!current) throw new Error(`Cannot delete ${this.#id(obj)}: not found`);
    return this.#record("DELETED", current);
  }

  /** Forgets the event history: a watch from any resourceVersion issued so far gets 410 Gone. */
  compact(): void {
    // As etcd: compaction happens at a revision that exists, so a fresh list (which returns the current
    // resourceVersion) can be watched from again, while every older version gets 410.
    this.#rv++;
    this.#compactedRv = this.#rv;
    this.#log = [];
  }

  /** Closes every open watch stream (simulates a lost connection). */
  dropWatches(): void {
    for (const watch of [...this.#watches]) this.#end(watch);
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that allowed bookmarks. */
  sendBookmarks(): void {
    for (const watch of this.#watches) {
      if (!watch.bookmarks) continue;
      const info = KINDS[watch.kind];
      const object = {
        kind: watch.kind,
        apiVersion: apiVersionOf(info, watch.version),
        metadata: { resourceVersion: `${this.#rv}` },
      };
      this.#send(watch, { type: "BOOKMARK", object });
    }
  }

  /** Ends all watches and stops the server. */
  async close(): Promise<void> {
    this.dropWatches();
    await this.#server.shutdown();
  }

  get #token(): string {
    return this.#options.token ?? "fake-token";
  }

  #id(obj: K8sObject): string {
    if (!isResourceKind(obj.kind)) {
      throw new Error(`Cannot store kind ${obj.kind}: not supported by the fake`);
    }
    const ns = KINDS[obj.kind].namespaced ? obj.metadata.namespace ?? "default" : "";
    return `${obj.kind}/${ns}/${obj.metadata.name}`;
  }

  #record(type: EventType, input: K8sObject): string {
    const rv = ++this.#rv;
    const kind = input.kind as ResourceKind;
    const object = structuredClone(input) as K8sObject & { metadata: Record<string, unknown> };
    if (KINDS[kind].namespaced) object.metadata.namespace ??= "default";
    object.metadata.resourceVersion = `${rv}`;
    if (type === "DELETED") this.#objects.delete(this.#id(object));
    else this.#objects.set(this.#id(object), object);
    const event = { rv, type, kind, object };
    this.#log.push(event);
    for (const watch of this.#watches) if (matches(watch, event)) this.#send(watch, this.#wire(watch, event));
    return `${rv}`;
  }

  #wire(watch: Watch, event: LoggedEvent): unknown {
    return { type: event.type, object: present(event.object, KINDS[watch.kind], watch.version, true) };
  }

  #send(watch: Watch, event: unknown): void {
    try {
      watch.controller.enqueue(encoder.encode(JSON.stringify(event) + "\n"));
    } catch {
      this.#watches.delete(watch);
    }
  }

  #end(watch: Watch): void {
    this.#watches.delete(watch);
    try {
      watch.controller.close();
    } catch {
      // The client already went away.
    }
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    this.requests.push(url.pathname + url.search);
    if (req.headers.get("authorization") !== `Bearer ${this.#token}`) return status(401, "Unauthorized");
    const route = this.#route(url.pathname);
    if (!route) return status(404, "NotFound");
    if (url.searchParams.get("watch") === "1" || url.searchParams.get("watch") === "true") {
      return this.#watch(route, url.searchParams);
    }
    const info = KINDS[route.kind];
    const items = [...this.#objects.values()]
      .filter((o) => o.kind === route.kind && (!route.namespace || o.metadata.namespace === route.namespace))
      .map((o) => present(o, info, route.version, false));
    return Response.json({
      kind: `${route.kind}List`,
      apiVersion: apiVersionOf(info, route.version),
      metadata: { resourceVersion: `${this.#rv}` },
      items,
    });
  }

  #watch(
    route: { kind: ResourceKind; version: string; namespace?: string },
    params: URLSearchParams,
  ): Response {
    const from = Number(params.get("resourceVersion") ?? this.#rv);
    if (from < this.#compactedRv) {
      const gone = {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Expired",
        code: 410,
        message: `too old resource version: ${from} (${this.#compactedRv})`,
      };
      if (this.#options.goneAsStatus) return Response.json(gone, { status: 410 });
      return new Response(encoder.encode(JSON.stringify({ type: "ERROR", object: gone }) + "\n"));
    }
    let watch!: Watch;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        watch = { ...route, bookmarks: params.get("allowWatchBookmarks") === "true", controller };
        for (const event of this.#log) {
          if (event.rv > from && matches(watch, event)) this.#send(watch, this.#wire(watch, event));
        }
        this.#watches.add(watch);
      },
      cancel: () => {
        this.#watches.delete(watch);
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  #route(path: string): { kind: ResourceKind; version: string; namespace?: string } | undefined {
    const core = path.match(/^\/api\/(v1)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/);
    const grouped = path.match(/^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/);
    const [group, version, namespace, plural] = core
      ? ["", core[1], core[2], core[3]]
      : grouped
      ? [grouped[1], grouped[2], grouped[3], grouped[4]]
      : [];
    if (version === undefined) return undefined;
    const kind = (Object.keys(KINDS) as ResourceKind[]).find((k) =>
      KINDS[k].group === group && KINDS[k].plural === plural
    );
    if (!kind || (namespace && !KINDS[kind].namespaced)) return undefined;
    const served = group === "networking.istio.io"
      ? this.#options.istioVersions ?? ["v1alpha3", "v1beta1"]
      : KINDS[kind].versions;
    if (!served.includes(version)) return undefined;
    return { kind, version, namespace };
  }
}

function matches(watch: Watch, event: LoggedEvent): boolean {
  return event.kind === watch.kind &&
    (!watch.namespace || event.object.metadata.namespace === watch.namespace);
}

/** The object as served at `version`; list items of core/typed kinds omit kind and apiVersion, like the API. */
function present(obj: K8sObject, info: KindInfo, version: string, inWatch: boolean): unknown {
  const typed = info.group === "" || info.group === "discovery.k8s.io";
  if (typed && !inWatch) {
    const { kind: _k, apiVersion: _a, ...rest } = obj;
    return rest;
  }
  return { ...obj, apiVersion: apiVersionOf(info, version) };
}

function status(code: number, reason: string): Response {
  return Response.json({ kind: "Status", apiVersion: "v1", status: "Failure", reason, code }, {
    status: code,
  });
}
