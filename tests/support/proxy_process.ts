/**
 * `main.ts --mode=proxy --config <file>` as a subprocess, for tests of bootstrap files used unchanged. Such
 * files fix their ports, which other test files may hold for a while: startup is retried until the ports are
 * free (see {@linkcode PORT_BUDGET_MS}).
 *
 * @module
 */
import { repoRoot } from "./paths.ts";
import { canConnect } from "./net.ts";

/** How long to wait for a fixed port to become free (other test files may hold it for a while). */
export const PORT_BUDGET_MS = 40_000;

/** The proxy subprocess and what it printed. */
export interface ProxyProcess {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then waits for it to exit. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `start` (which throws while its port is busy) until `budgetMs` is spent. */
export async function retryPort<T>(
  what: string,
  start: () => Promise<T>,
  budgetMs = PORT_BUDGET_MS,
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await start();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`Cannot start ${what}: ${e}`);
      await sleep(250);
    }
  }
}

/**
 * Starts the proxy on `config` and waits until it printed "listening on" (every listener bound, the admin
 * port its own) and `listenerPort` accepts. One that exits early (a fixed port busy) or is not up within
 * 15 s is started again until `budgetMs` is spent; the error then has the output of every attempt.
 */
export async function startProxyProcess(
  config: string,
  listenerPort: number,
  budgetMs = PORT_BUDGET_MS,
): Promise<ProxyProcess> {
  const attempts: string[] = [];
  try {
    return await retryPort(`the proxy on ${config}`, async () => {
      const proxy = await attempt(config, listenerPort);
      if (typeof proxy === "string") throw new Error(attempts[attempts.push(proxy) - 1]);
      return proxy;
    }, budgetMs);
  } catch {
    throw new Error(`Cannot start the proxy on ${config} within ${budgetMs} ms:\n${attempts.join("\n")}`);
  }
}

/** One start: the running proxy, or what it printed before it exited or was given up. */
async function attempt(config: string, listenerPort: number): Promise<ProxyProcess | string> {
  const child = new Deno.Command(`${repoRoot}/node_modules/.bin/deno`, {
    args: ["run", "-A", `${repoRoot}/main.ts`, "--mode=proxy", "--config", config],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const deadline = Date.now() + 15_000;
  while (!exited && Date.now() < deadline) {
    if (/listening on/.test(text) && await canConnect(listenerPort)) {
      return {
        output: () => text,
        async close() {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
          await status;
          await drained;
        },
      };
    }
    await sleep(50);
  }
  if (!exited) child.kill("SIGKILL");
  await status;
  await drained;
  return text.trim();
}

/** Runs `body` with the proxy on `config`, adding the proxy's output to a failure. */
export async function withProxyProcess(
  config: string,
  listenerPort: number,
  body: () => Promise<void>,
): Promise<void> {
  const proxy = await startProxyProcess(config, listenerPort);
  try {
    await body();
  } catch (error) {
    throw new Error(`${config}: ${(error as Error).stack ?? error}\n--- proxy output ---\n${proxy.output()}`);
  } finally {
    await proxy.close();
  }
}
