/**
 * metamesh: one program, two modes.
 *
 *   metamesh --mode=proxy --config BOOTSTRAP.yaml
 *   metamesh --mode=control [--config-dir DIR | --kubeconfig FILE | --in-cluster] [--xds-port 15010] [--admin-port 15014]
 *   metamesh demo
 *
 * @module
 */
import { parseArgs } from "node:util";
import "./codecs/builtin.ts";

export const USAGE = `metamesh — a service mesh for non-HTTP protocols (Aeraki-compatible)

Usage:
  metamesh --mode=proxy --config FILE          run a proxy from an Envoy bootstrap (YAML or JSON)
  metamesh --mode=control [options]            run the control plane (xDS v3 over gRPC ADS)
  metamesh demo                                 local demo: control plane + proxy + real upstreams

Control plane options:
  --config-dir DIR       watch a directory of YAML manifests (default: ./config)
  --namespace NS         namespace of manifests that name none, like kubectl -n (default: default)
  --kubeconfig FILE      watch a Kubernetes API server (list/watch) using this kubeconfig
  --in-cluster           watch the Kubernetes API server from inside a pod (service account)
  --namespaces a,b       only these namespaces (default: all)
  --xds-port N           ADS gRPC port (default 15010)
  --admin-port N         admin HTTP port: /ready, /debug/config_dump, /metrics (default 15014)

Common options:
  --log-level LEVEL      error | warn | info | debug (default info)
  -h, --help             show this help
  --version              print the version
`;

export const VERSION = "0.1.0";

/** Parsed command line, or the reason it is invalid. */
export type Cli =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "demo"; logLevel: string }
  | { kind: "proxy"; config: string; logLevel: string }
  | {
    kind: "control";
    configDir?: string;
    defaultNamespace?: string;
    kubeconfig?: string;
    inCluster: boolean;
    namespaces?: string[];
    xdsPort: number;
    adminPort: number;
    logLevel: string;
  }
  | { kind: "error"; message: string };

/** Parses `args` (without the program name). Never throws. */
export function parseCli(args: string[]): Cli {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        mode: { type: "string" },
        config: { type: "string", short: "c" },
        "config-dir": { type: "string" },
        namespace: { type: "string" },
        kubeconfig: { type: "string" },
        "in-cluster": { type: "boolean", default: false },
        namespaces: { type: "string" },
        "xds-port": { type: "string", default: "15010" },
        "admin-port": { type: "string", default: "15014" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const logLevel = values["log-level"]!;
  if (!["error", "warn", "info", "debug"].includes(logLevel)) {
    return {
      kind: "error",
      message: `Cannot use --log-level '${logLevel}': expected error, warn, info or debug`,
    };
  }
  if (positionals[0] === "demo" && positionals.length === 1 && !values.mode) {
    return { kind: "demo", logLevel };
  }
  if (positionals.length > 0) {
    return { kind: "error", message: `Cannot use argument '${positionals[0]}': unexpected` };
  }
  if (values.mode === "proxy") {
    if (!values.config) {
      return { kind: "error", message: "Cannot start the proxy: --config FILE is required" };
    }
    return { kind: "proxy", config: values.config, logLevel };
  }
  if (values.mode === "control") {
    const xdsPort = port(values["xds-port"]!), adminPort = port(values["admin-port"]!);
    if (xdsPort === undefined) {
      return { kind: "error", message: `Cannot use --xds-port '${values["xds-port"]}'` };
    }
    if (adminPort === undefined) {
      return { kind: "error", message: `Cannot use --admin-port '${values["admin-port"]}'` };
    }
    const sources = [values["config-dir"], values.kubeconfig, values["in-cluster"] || undefined].filter(
      Boolean,
    );
    if (sources.length > 1) {
      return {
        kind: "error",
        message: "Cannot combine --config-dir, --kubeconfig and --in-cluster: choose one source",
      };
    }
    return {
      kind: "control",
      configDir: values["config-dir"],
      defaultNamespace: values.namespace,
      kubeconfig: values.kubeconfig,
      inCluster: values["in-cluster"]!,
      namespaces: values.namespaces?.split(",").map((s) => s.trim()).filter(Boolean),
      xdsPort,
      adminPort,
      logLevel,
    };
  }
  if (values.mode === undefined) {
    return { kind: "error", message: "Cannot start: --mode=control or --mode=proxy is required" };
  }
  return { kind: "error", message: `Cannot use --mode '${values.mode}': expected control or proxy` };
}

function port(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

async function main(args: string[]): Promise<number> {
  const cli = parseCli(args);
  switch (cli.kind) {
    case "help":
      console.log(USAGE);
      return 0;
    case "version":
      console.log(`metamesh ${VERSION}`);
      return 0;
    case "error":
      console.error(`metamesh: ${cli.message}\n\n${USAGE}`);
      return 2;
    case "proxy": {
      const { runProxy } = await import("./proxy/run.ts");
      return await runProxy(cli.config, untilSignal(), { logLevel: cli.logLevel });
    }
    case "control": {
      const { runControlPlane } = await import("./control/run.ts");
      return await runControlPlane(cli, untilSignal());
    }
    case "demo": {
      const { runDemo } = await import("./control/demo.ts");
      return await runDemo({ logLevel: cli.logLevel });
    }
  }
}

/** Resolves on the first SIGINT or SIGTERM: both modes then close their servers and exit 0. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
