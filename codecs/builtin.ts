/**
 * Registers every built-in codec. Import this module once (main.ts does) before resolving codecs.
 *
 * @module
 */
import "./dubbo/mod.ts";
import "./thrift/mod.ts";
import "./redis/mod.ts";
import "./brpc/mod.ts";
import "./declarative/mod.ts";
