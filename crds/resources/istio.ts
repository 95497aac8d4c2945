/**
 * The Istio `networking.istio.io` kinds metamesh reads — ServiceEntry, DestinationRule, Gateway, VirtualService,
 * WorkloadEntry — accepted under `v1alpha3`, `v1beta1` and `v1` (same schema). Only the fields Aeraki uses (spec
 * §5.6) and their neighbours are typed; everything else passes through. Enums reject unknown values.
 *
 * @module
 */
import { z } from "zod";
import { duration, portNumber, specResource, stringList, stringMap, uint32 } from "./common.ts";

/** The `networking.istio.io` versions accepted. */
export const istioApiVersions = [
  "networking.istio.io/v1alpha3",
  "networking.istio.io/v1beta1",
  "networking.istio.io/v1",
] as const;

/** Istio `StringMatch`: at most one of exact, prefix, regex. */
export const istioStringMatchSchema = z.looseObject({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
}).refine((m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length <= 1, {
  error: "only one of exact, prefix, regex may be set",
});

/** Istio `Port` (ServiceEntry ports, Gateway server port). `protocol` is case-insensitive in Istio. */
export const istioPortSchema = z.looseObject({
  number: portNumber.optional(),
  protocol: z.string().optional(),
  name: z.string().optional(),
  targetPort: portNumber.optional(),
});

/** The WorkloadEntry `spec` (also a ServiceEntry's inline `endpoints[]`). */
export const workloadEntrySpecSchema = z.looseObject({
  address: z.string().optional(),
  ports: z.record(z.string(), uint32).optional(),
  labels: stringMap.optional(),
  network: z.string().optional(),
  locality: z.string().optional(),
  weight: uint32.optional(),
  serviceAccount: z.string().optional(),
});

/** The ServiceEntry `spec`. */
export const serviceEntrySpecSchema = z.looseObject({
  hosts: stringList.optional(),
  addresses: stringList.optional(),
  ports: z.array(istioPortSchema).optional(),
  location: z.enum(["MESH_EXTERNAL", "MESH_INTERNAL"]).optional(),
  resolution: z.enum(["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]).optional(),
  endpoints: z.array(workloadEntrySpecSchema).optional(),
  workloadSelector: z.looseObject({ labels: stringMap.optional() }).optional(),
  exportTo: stringList.optional(),
  subjectAltNames: stringList.optional(),
});

const consistentHashSchema = z.looseObject({
  httpHeaderName: z.string().optional(),
  httpCookie: z.looseObject({
    name: z.string().optional(),
    path: z.string().optional(),
    ttl: duration.optional(),
  })
    .optional(),
  useSourceIp: z.boolean().optional(),
  httpQueryParameterName: z.string().optional(),
  minimumRingSize: uint32.optional(),
});

/** DestinationRule `TrafficPolicy` (load balancer typed; pools, outlier detection, TLS pass through to Istio). */
export const trafficPolicySchema = z.looseObject({
  loadBalancer: z.looseObject({
    simple: z.enum(["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"])
      .optional(),
    consistentHash: consistentHashSchema.optional(),
  }).optional(),
  connectionPool: z.looseObject({}).optional(),
  outlierDetection: z.looseObject({}).optional(),
  tls: z.looseObject({ mode: z.enum(["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]).optional() }).optional(),
  portLevelSettings: z.array(z.looseObject({})).optional(),
});

/** The DestinationRule `spec`. */
export const destinationRuleSpecSchema = z.looseObject({
  host: z.string().optional(),
  trafficPolicy: trafficPolicySchema.optional(),
  subsets: z.array(z.looseObject({
    name: z.string().optional(),
    labels: stringMap.optional(),
    trafficPolicy: trafficPolicySchema.optional(),
  })).optional(),
  exportTo: stringList.optional(),
  workloadSelector: z.looseObject({ matchLabels: stringMap.optional() }).optional(),
});

/** The Gateway `spec`. */
export const gatewaySpecSchema = z.looseObject({
  selector: stringMap.optional(),
  servers: z.array(z.looseObject({
    port: istioPortSchema.optional(),
    bind: z.string().optional(),
    hosts: stringList.optional(),
    name: z.string().optional(),
    tls: z.looseObject({
      mode: z.enum(["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"])
        .optional(),
    }).optional(),
  })).optional(),
});

const routeDestinationSchema = z.looseObject({
  destination: z.looseObject({
    host: z.string().optional(),
    subset: z.string().optional(),
    port: z.looseObject({ number: portNumber.optional() }).optional(),
  }).optional(),
  weight: z.int().optional(),
});

/** VirtualService `HTTPRoute` (what legacy Dubbo/Thrift routing reads: match method/headers, route). */
export const httpRouteSchema = z.looseObject({
  name: z.string().optional(),
  match: z.array(z.looseObject({
    name: z.string().optional(),
    uri: istioStringMatchSchema.optional(),
    method: istioStringMatchSchema.optional(),
    headers: z.record(z.string(), istioStringMatchSchema).optional(),
    port: portNumber.optional(),
    sourceLabels: stringMap.optional(),
    gateways: stringList.optional(),
  })).optional(),
  route: z.array(routeDestinationSchema).optional(),
  timeout: duration.optional(),
});

/** The VirtualService `spec`. */
export const virtualServiceSpecSchema = z.looseObject({
  hosts: stringList.optional(),
  gateways: stringList.optional(),
  http: z.array(httpRouteSchema).optional(),
  tcp: z.array(z.looseObject({
    match: z.array(z.looseObject({
      port: portNumber.optional(),
      gateways: stringList.optional(),
      sourceLabels: stringMap.optional(),
    })).optional(),
    route: z.array(routeDestinationSchema).optional(),
  })).optional(),
  tls: z.array(z.looseObject({})).optional(),
  exportTo: stringList.optional(),
});

/** A whole ServiceEntry resource. */
export const serviceEntrySchema = specResource("ServiceEntry", istioApiVersions, serviceEntrySpecSchema);
/** A whole DestinationRule resource. */
export const destinationRuleSchema = specResource(
  "DestinationRule",
  istioApiVersions,
  destinationRuleSpecSchema,
);
/** A whole Gateway resource. */
export const gatewaySchema = specResource("Gateway", istioApiVersions, gatewaySpecSchema);
/** A whole VirtualService resource. */
export const virtualServiceSchema = specResource(
  "VirtualService",
  istioApiVersions,
  virtualServiceSpecSchema,
);
/** A whole WorkloadEntry resource. */
export const workloadEntrySchema = specResource("WorkloadEntry", istioApiVersions, workloadEntrySpecSchema);

/** Inferred type of {@link serviceEntrySchema}. */
export type ServiceEntry = z.infer<typeof serviceEntrySchema>;
/** Inferred type of {@link destinationRuleSchema}. */
export type DestinationRule = z.infer<typeof destinationRuleSchema>;
/** Inferred type of {@link gatewaySchema}. */
export type Gateway = z.infer<typeof gatewaySchema>;
/** Inferred type of {@link virtualServiceSchema}. */
export type VirtualService = z.infer<typeof virtualServiceSchema>;
/** Inferred type of {@link workloadEntrySchema}. */
export type WorkloadEntry = z.infer<typeof workloadEntrySchema>;
/** Inferred type of {@link trafficPolicySchema}. */
export type TrafficPolicy = z.infer<typeof trafficPolicySchema>;
