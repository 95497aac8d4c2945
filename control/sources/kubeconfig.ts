/**
 * How to reach a Kubernetes API server: from a kubeconfig file (`--kubeconfig`, current or given context) or
 * from inside a pod (service-account token and CA, `KUBERNETES_SERVICE_HOST/PORT`).
 *
 * Supported credentials: bearer `token` / `tokenFile`, client certificate and key (`-data` or file), and the
 * cluster CA (`certificate-authority-data` or file). `insecure-skip-tls-verify` cannot be honoured by Deno's
 * fetch (only the `--unsafely-ignore-certificate-errors` flag can); plain `http://` servers are for tests.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parse } from "yaml";

/** A resolved API server connection. */
export interface KubeConnection {
  /** Base URL without a trailing slash, e.g. `https://10.0.0.1:443`. */
  readonly server: string;
  /** Headers for every request (Authorization). */
  readonly headers: Readonly<Record<string, string>>;
  /** A client carrying CA/client certificates, when the kubeconfig needs one; the owner must close it. */
  readonly client?: Deno.HttpClient;
}

/** In-cluster service-account files. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface Named<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

/** Reads a kubeconfig file and resolves the connection of `context` (default: `current-context`). */
export async function loadKubeconfig(path: string, context?: string): Promise<KubeConnection> {
  const text = await Deno.readTextFile(path);
  const config = parse(text) as Record<string, unknown> | null;
  const fail = (state: string): never => {
    throw new Error(`Cannot use kubeconfig ${path}: ${state}`);
  };
  if (!config || typeof config !== "object") fail("not a YAML mapping");
  const contextName = context ?? (config!["current-context"] as string | undefined);
  if (!contextName) fail("no current-context and no context given");
  const ctx = pick<Record<string, string>>(config!.contexts, contextName!, "context") ??
    fail(`context "${contextName}" not found`);
  const cluster = pick<Record<string, unknown>>(config!.clusters, ctx!.cluster, "cluster") ??
    fail(`cluster "${ctx!.cluster}" not found`);
  const user = ctx!.user ? pick<Record<string, unknown>>(config!.users, ctx!.user, "user") ?? {} : {};
  const server = String(cluster!.server ?? fail(`cluster "${ctx!.cluster}" has no server`)).replace(
    /\/+$/,
    "",
  );
  const base = dirname(resolve(path));
  const readRef = async (dataKey: string, fileKey: string, from: Record<string, unknown>) => {
    if (typeof from[dataKey] === "string") {
      return new TextDecoder().decode(decodeBase64(from[dataKey] as string));
    }
    if (typeof from[fileKey] === "string") {
      return await Deno.readTextFile(resolve(base, from[fileKey] as string));
    }
    return undefined;
  };
  let token = typeof user.token === "string" ? user.token : undefined;
  if (!token && typeof user.tokenFile === "string") {
    token = (await Deno.readTextFile(resolve(base, user.tokenFile))).trim();
  }
  const ca = await readRef("certificate-authority-data", "certificate-authority", cluster!);
  const cert = await readRef("client-certificate-data", "client-certificate", user);
  const key = await readRef("client-key-data", "client-key", user);
  return connection(server, { token, ca, cert, key });
}

/** The in-cluster connection (throws when not running in a pod). */
export async function inClusterConnection(): Promise<KubeConnection> {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST");
  const port = Deno.env.get("KUBERNETES_SERVICE_PORT") ?? "443";
  if (!host) {
    throw new Error("Cannot connect in-cluster: KUBERNETES_SERVICE_HOST is not set (use --kubeconfig)");
  }
  const token = (await Deno.readTextFile(`${SERVICE_ACCOUNT_DIR}/token`)).trim();
  const ca = await Deno.readTextFile(`${SERVICE_ACCOUNT_DIR}/ca.crt`).catch(() => undefined);
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return connection(`https://${hostPart}:${port}`, { token, ca });
}

function connection(
  server: string,
  creds: { token?: string; ca?: string; cert?: string; key?: string },
): KubeConnection {
  const headers: Record<string, string> = {};
  if (creds.token) headers.authorization = `Bearer ${creds.token}`;
  let client: Deno.HttpClient | undefined;
  if (server.startsWith("https:") && (creds.ca || (creds.cert && creds.key))) {
    client = Deno.createHttpClient({
      caCerts: creds.ca ? [creds.ca] : undefined,
      ...(creds.cert && creds.key ? { cert: creds.cert, key: creds.key } : {}),
    });
  }
  return { server, headers, client };
}

function pick<T>(list: unknown, name: string, field: "cluster" | "user" | "context"): T | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry = (list as Named<T>[]).find((e) => e?.name === name);
  return entry?.[field];
}

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}
