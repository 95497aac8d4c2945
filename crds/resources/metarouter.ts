/**
 * MetaRouter (`metaprotocol.aeraki.io/v1alpha1`, namespaced, plural `metarouters`): route policies for the
 * MetaProtocol proxy. Field for field as Aeraki 1.3.0's CRD schema (spec §5.2); JSON names are lowerCamel.
 *
 * @module
 */
import { z } from "zod";
import { duration, portNumber, specResource, stringList, uint32 } from "./common.ts";

/**
 * One attribute matcher: at most one of `exact`, `prefix`, `regex` (the CRD's `oneOf`). `null` or `{}` are both
 * accepted: `null` (or regex `"*"`) means "attribute present", `{}` is dropped by Aeraki (spec §10.3).
 */
export const stringMatchSchema = z.looseObject({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
}).refine(
  (m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length <= 1,
  { error: "only one of exact, prefix, regex may be set" },
);

/** Inferred type of {@link stringMatchSchema}. */
export type StringMatch = z.infer<typeof stringMatchSchema>;

/** `MetaRouteMatch`: all attributes must match (AND). */
export const metaRouteMatchSchema = z.looseObject({
  attributes: z.record(z.string(), stringMatchSchema.nullable()).optional(),
});

/** Inferred type of {@link metaRouteMatchSchema}. */
export type MetaRouteMatch = z.infer<typeof metaRouteMatchSchema>;

/** `Destination`: a service host, optional subset and port. */
export const destinationSchema = z.looseObject({
  host: z.string().optional(),
  subset: z.string().optional(),
  port: z.looseObject({ number: portNumber.optional() }).optional(),
});

/** Inferred type of {@link destinationSchema}. */
export type Destination = z.infer<typeof destinationSchema>;

/** `KeyValue` of a request/response mutation. */
export const keyValueSchema = z.looseObject({ key: z.string().optional(), value: z.string().optional() });

/** `MetaRoute`: one ordered route rule. */
export const metaRouteSchema = z.looseObject({
  name: z.string().optional(),
  match: metaRouteMatchSchema.optional(),
  route: z.array(z.looseObject({ destination: destinationSchema.optional(), weight: uint32.optional() }))
    .optional(),
  mirror: destinationSchema.optional(),
  mirrorPercentage: z.looseObject({ value: z.number().optional() }).optional(),
  requestMutation: z.array(keyValueSchema).optional(),
  responseMutation: z.array(keyValueSchema).optional(),
});

/** Inferred type of {@link metaRouteSchema}. */
export type MetaRoute = z.infer<typeof metaRouteSchema>;

/** `TokenBucket` of a local rate limit (`tokensPerFill` is a nullable UInt32Value). */
export const tokenBucketSchema = z.looseObject({
  maxTokens: uint32.optional(),
  tokensPerFill: uint32.nullable().optional(),
  fillInterval: duration.optional(),
});

/** Inferred type of {@link tokenBucketSchema}. */
export type TokenBucket = z.infer<typeof tokenBucketSchema>;

/** `LocalRateLimit`: a default bucket and/or per-match buckets (first match wins). */
export const localRateLimitSchema = z.looseObject({
  tokenBucket: tokenBucketSchema.optional(),
  conditions: z.array(z.looseObject({
    match: metaRouteMatchSchema.optional(),
    tokenBucket: tokenBucketSchema.optional(),
  })).optional(),
});

/** `GlobalRateLimit`: calls an Envoy rate limit service (`rateLimitService` is an Envoy cluster name). */
export const globalRateLimitSchema = z.looseObject({
  match: metaRouteMatchSchema.optional(),
  domain: z.string().optional(),
  requestTimeout: duration.optional(),
  denyOnFail: z.boolean().optional(),
  rateLimitService: z.string().optional(),
  descriptors: z.array(z.looseObject({
    property: z.string().optional(),
    descriptorKey: z.string().optional(),
  })).optional(),
});

/** The MetaRouter `spec`. */
export const metaRouterSpecSchema = z.looseObject({
  hosts: stringList.optional(),
  gateways: stringList.optional(),
  routes: z.array(metaRouteSchema).optional(),
  localRateLimit: localRateLimitSchema.optional(),
  globalRateLimit: globalRateLimitSchema.optional(),
  exportTo: stringList.optional(),
});

/** A whole MetaRouter resource. */
export const metaRouterSchema = specResource(
  "MetaRouter",
  ["metaprotocol.aeraki.io/v1alpha1"],
  metaRouterSpecSchema,
);

/** Inferred type of {@link metaRouterSchema}. */
export type MetaRouter = z.infer<typeof metaRouterSchema>;
