/**
 * The core Kubernetes kinds metamesh reads: Service and Namespace, Secret (`v1`) and EndpointSlice
 * (`discovery.k8s.io/v1`). Kubernetes Services reach the translation as the equivalent of istiod's synthetic
 * ServiceEntries (spec §3.1); EndpointSlices give their endpoints; Secrets carry Redis passwords.
 *
 * @module
 */
import { z } from "zod";
import { objectMeta, portNumber, stringList, stringMap } from "./common.ts";

/** A port protocol of a Service or EndpointSlice. */
const portProtocol = z.enum(["TCP", "UDP", "SCTP"]);

/** A Service's `targetPort`: a number or a named container port. */
const intOrString = z.union([z.int(), z.string()]);

/** The Service `spec`. */
export const serviceSpecSchema = z.looseObject({
  type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
  clusterIP: z.string().optional(),
  clusterIPs: stringList.optional(),
  ports: z.array(z.looseObject({
    name: z.string().optional(),
    protocol: portProtocol.optional(),
    port: portNumber,
    targetPort: intOrString.optional(),
    nodePort: portNumber.optional(),
    appProtocol: z.string().optional(),
  })).optional(),
  selector: stringMap.optional(),
  externalName: z.string().optional(),
});

/** A whole Service resource. */
export const serviceSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Service"),
  metadata: objectMeta,
  spec: z.preprocess((v) => v ?? {}, serviceSpecSchema),
  status: z.unknown().optional(),
});

/** Inferred type of {@link serviceSchema}. */
export type Service = z.infer<typeof serviceSchema>;

/** One endpoint of an EndpointSlice. */
export const endpointSchema = z.looseObject({
  addresses: z.array(z.string()).min(1),
  conditions: z.looseObject({
    ready: z.boolean().optional(),
    serving: z.boolean().optional(),
    terminating: z.boolean().optional(),
  }).optional(),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
  targetRef: z.looseObject({}).optional(),
});

/** A whole EndpointSlice resource (label `kubernetes.io/service-name` names its Service). */
export const endpointSliceSchema = z.looseObject({
  apiVersion: z.literal("discovery.k8s.io/v1"),
  kind: z.literal("EndpointSlice"),
  metadata: objectMeta,
  addressType: z.enum(["IPv4", "IPv6", "FQDN"]),
  endpoints: z.preprocess((v) => v ?? [], z.array(endpointSchema)),
  ports: z.array(z.looseObject({
    name: z.string().optional(),
    protocol: portProtocol.optional(),
    port: portNumber.optional(),
    appProtocol: z.string().optional(),
  })).optional(),
});

/** Inferred type of {@link endpointSliceSchema}. */
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;

/** A whole Namespace resource (labels `istio-injection`, `istio.io/rev` matter). */
export const namespaceSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Namespace"),
  metadata: objectMeta,
  spec: z.looseObject({}).optional(),
  status: z.unknown().optional(),
});

/** Inferred type of {@link namespaceSchema}. */
export type Namespace = z.infer<typeof namespaceSchema>;

/** A whole Secret resource: `data` values are base64, `stringData` values plain. */
export const secretSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Secret"),
  metadata: objectMeta,
  type: z.string().optional(),
  data: z.record(z.string(), z.base64()).optional(),
  stringData: stringMap.optional(),
  immutable: z.boolean().optional(),
});

/** Inferred type of {@link secretSchema}. */
export type Secret = z.infer<typeof secretSchema>;

/** Returns the decoded value of `key` in a Secret (`stringData` first, then base64 `data`), or `undefined`. */
export function secretValue(secret: Secret, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  if (encoded === undefined) return undefined;
  const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
