/**
 * The logger the control plane's xDS pieces write to: one function, level plus message, so the lead can
 * route it anywhere and tests can collect lines.
 *
 * @module
 */

/** Log severities, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Receives one log line. Must not throw. */
export type Log = (level: LogLevel, message: string) => void;

/** Writes `info` and above to stderr as `<iso time> <level> <message>`. */
export function stderrLog(minimum: LogLevel = "info"): Log {
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  const floor = order.indexOf(minimum);
  return (level, message) => {
    if (order.indexOf(level) >= floor) console.error(`${new Date().toISOString()} ${level} ${message}`);
  };
}

/** A logger that drops everything. */
export const silentLog: Log = () => {};
