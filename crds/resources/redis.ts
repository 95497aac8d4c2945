/**
 * RedisService and RedisDestination (`redis.aeraki.io/v1alpha1`, namespaced): Redis routing, mirroring, faults
 * and client auth; upstream connection policy and cluster mode (spec §5.4, §5.5). Field for field as the CRDs.
 *
 * @module
 */
import { z } from "zod";
import { duration, int32, portNumber, specResource, stringList, uint32 } from "./common.ts";

/** `Auth`: at most one of `secret` (a Secret in the resource's namespace) or `plain`. */
export const redisAuthSchema = z.looseObject({
  secret: z.looseObject({
    name: z.string().optional(),
    passwordField: z.string().optional(),
    usernameField: z.string().optional(),
  }).optional(),
  plain: z.looseObject({ password: z.string().optional(), username: z.string().optional() }).optional(),
}).refine((a) => a.secret === undefined || a.plain === undefined, {
  error: "only one of secret, plain may be set",
});

/** Inferred type of {@link redisAuthSchema}. */
export type RedisAuth = z.infer<typeof redisAuthSchema>;

/** `Percent` (0–100, a double). */
const percentSchema = z.looseObject({ value: z.number().optional() });

/** Route `Destination` of a RedisService (`port` 0 = derive it, see spec §6.5). */
export const redisRouteDestinationSchema = z.looseObject({
  host: z.string().optional(),
  port: portNumber.optional(),
});

/** `readPolicy` values. */
export const redisReadPolicies = ["MASTER", "PREFER_MASTER", "REPLICA", "PREFER_REPLICA", "ANY"] as const;

/** The RedisService `spec` (note the singular JSON name `host` for a list). */
export const redisServiceSpecSchema = z.looseObject({
  host: stringList.optional(),
  settings: z.looseObject({
    caseInsensitive: z.boolean().optional(),
    opTimeout: duration.optional(),
    enableCommandStats: z.boolean().optional(),
    maxBufferSizeBeforeFlush: uint32.optional(),
    bufferFlushTimeout: duration.optional(),
    maxUpstreamUnknownConnections: uint32.nullable().optional(),
    enableHashtagging: z.boolean().optional(),
    enableRedirection: z.boolean().optional(),
    readPolicy: z.enum(redisReadPolicies).optional(),
    auth: redisAuthSchema.optional(),
  }).optional(),
  redis: z.array(z.looseObject({
    match: z.looseObject({
      key: z.looseObject({ prefix: z.string().optional(), removePrefix: z.boolean().optional() }).optional(),
    }).optional(),
    route: redisRouteDestinationSchema.optional(),
    mirror: z.array(z.looseObject({
      route: redisRouteDestinationSchema.optional(),
      percentage: percentSchema.optional(),
      excludeReadCommands: z.boolean().optional(),
    })).optional(),
  })).optional(),
  faults: z.array(z.looseObject({
    type: z.enum(["DELAY", "ERROR"]).optional(),
    percentage: percentSchema.optional(),
    delay: duration.optional(),
    commands: stringList.optional(),
  })).optional(),
});

/** A whole RedisService resource. */
export const redisServiceSchema = specResource(
  "RedisService",
  ["redis.aeraki.io/v1alpha1"],
  redisServiceSpecSchema,
);

/** Inferred type of {@link redisServiceSchema}. */
export type RedisService = z.infer<typeof redisServiceSchema>;

/** The RedisDestination `spec`. */
export const redisDestinationSpecSchema = z.looseObject({
  host: z.string().optional(),
  trafficPolicy: z.looseObject({
    connectionPool: z.looseObject({
      // Istio's ConnectionPoolSettings.TCPSettings.
      tcp: z.looseObject({
        maxConnections: int32.optional(),
        connectTimeout: duration.optional(),
        tcpKeepalive: z.looseObject({
          probes: uint32.optional(),
          time: duration.optional(),
          interval: duration.optional(),
        }).optional(),
      }).optional(),
      redis: z.looseObject({
        mode: z.enum(["PROXY", "CLUSTER"]).optional(),
        auth: redisAuthSchema.optional(),
        discoveryEndpoints: stringList.optional(),
      }).optional(),
    }).optional(),
  }).optional(),
});

/** A whole RedisDestination resource. */
export const redisDestinationSchema = specResource(
  "RedisDestination",
  ["redis.aeraki.io/v1alpha1"],
  redisDestinationSpecSchema,
);

/** Inferred type of {@link redisDestinationSchema}. */
export type RedisDestination = z.infer<typeof redisDestinationSchema>;
