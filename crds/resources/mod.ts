/**
 * The registry of resource kinds metamesh reads: for each kind its schema, API group, versions, plural and scope,
 * plus the `Resource` union and per-kind type map used by the store and the translation layer.
 *
 * @module
 */
import type { z } from "zod";
import { type ApplicationProtocol, applicationProtocolSchema } from "./application_protocol.ts";
import { type DubboAuthorizationPolicy, dubboAuthorizationPolicySchema } from "./dubbo_authz.ts";
import {
  type DestinationRule,
  destinationRuleSchema,
  type Gateway,
  gatewaySchema,
  type ServiceEntry,
  serviceEntrySchema,
  type VirtualService,
  virtualServiceSchema,
  type WorkloadEntry,
  workloadEntrySchema,
} from "./istio.ts";
import {
  type EndpointSlice,
  endpointSliceSchema,
  type Namespace,
  namespaceSchema,
  type Secret,
  secretSchema,
  type Service,
  serviceSchema,
} from "./kubernetes.ts";
import { type MetaRouter, metaRouterSchema } from "./metarouter.ts";
import {
  type RedisDestination,
  redisDestinationSchema,
  type RedisService,
  redisServiceSchema,
} from "./redis.ts";

export type * from "./application_protocol.ts";
export type * from "./dubbo_authz.ts";
export type * from "./istio.ts";
export type * from "./kubernetes.ts";
export type * from "./metarouter.ts";
export type * from "./redis.ts";
export type { ObjectMeta } from "./common.ts";
export { durationToMs } from "./common.ts";
export { secretValue } from "./kubernetes.ts";

/** Resource type by kind name. */
export interface ResourceByKind {
  MetaRouter: MetaRouter;
  ApplicationProtocol: ApplicationProtocol;
  RedisService: RedisService;
  RedisDestination: RedisDestination;
  DubboAuthorizationPolicy: DubboAuthorizationPolicy;
  ServiceEntry: ServiceEntry;
  DestinationRule: DestinationRule;
  Gateway: Gateway;
  VirtualService: VirtualService;
  WorkloadEntry: WorkloadEntry;
  Service: Service;
  EndpointSlice: EndpointSlice;
  Namespace: Namespace;
  Secret: Secret;
}

/** A supported kind name. */
export type ResourceKind = keyof ResourceByKind;

/** Any supported resource (a discriminated union on `kind`). */
export type Resource = ResourceByKind[ResourceKind];

/** How a kind is served by the Kubernetes API and checked. */
export interface KindInfo {
  /** API group; `""` for the core group (`/api/v1`). */
  readonly group: string;
  /** Versions accepted in files, the preferred (first tried on the API server) first. */
  readonly versions: readonly string[];
  /** Lower-case plural used in API paths. */
  readonly plural: string;
  /** Whether objects live in a namespace (false: cluster-scoped, key namespace `""`). */
  readonly namespaced: boolean;
  /** The zod schema of a whole object. */
  readonly schema: z.ZodType;
}

const ISTIO = "networking.istio.io";
/** Istio versions, in the order the Kubernetes source tries them (Istio 1.16 serves v1alpha3 and v1beta1). */
const ISTIO_VERSIONS = ["v1beta1", "v1alpha3", "v1"] as const;

/** Every supported kind. */
export const KINDS: { readonly [K in ResourceKind]: KindInfo } = {
  MetaRouter: {
    group: aeraki("metaprotocol"),
    versions: ["v1alpha1"],
    plural: "metarouters",
    namespaced: true,
    schema: metaRouterSchema,
  },
  ApplicationProtocol: {
    group: aeraki("metaprotocol"),
    versions: ["v1alpha1"],
    plural: "applicationprotocols",
    namespaced: false,
    schema: applicationProtocolSchema,
  },
  RedisService: {
    group: aeraki("redis"),
    versions: ["v1alpha1"],
    plural: "redisservices",
    namespaced: true,
    schema: redisServiceSchema,
  },
  RedisDestination: {
    group: aeraki("redis"),
    versions: ["v1alpha1"],
    plural: "redisdestinations",
    namespaced: true,
    schema: redisDestinationSchema,
  },
  DubboAuthorizationPolicy: {
    group: aeraki("dubbo"),
    versions: ["v1alpha1"],
    plural: "dubboauthorizationpolicies",
    namespaced: true,
    schema: dubboAuthorizationPolicySchema,
  },
  ServiceEntry: {
    group: ISTIO,
    versions: ISTIO_VERSIONS,
    plural: "serviceentries",
    namespaced: true,
    schema: serviceEntrySchema,
  },
  DestinationRule: {
    group: ISTIO,
    versions: ISTIO_VERSIONS,
    plural: "destinationrules",
    namespaced: true,
    schema: destinationRuleSchema,
  },
  Gateway: {
    group: ISTIO,
    versions: ISTIO_VERSIONS,
    plural: "gateways",
    namespaced: true,
    schema: gatewaySchema,
  },
  VirtualService: {
    group: ISTIO,
    versions: ISTIO_VERSIONS,
    plural: "virtualservices",
    namespaced: true,
    schema: virtualServiceSchema,
  },
  WorkloadEntry: {
    group: ISTIO,
    versions: ISTIO_VERSIONS,
    plural: "workloadentries",
    namespaced: true,
    schema: workloadEntrySchema,
  },
  Service: { group: "", versions: ["v1"], plural: "services", namespaced: true, schema: serviceSchema },
  EndpointSlice: {
    group: "discovery.k8s.io",
    versions: ["v1"],
    plural: "endpointslices",
    namespaced: true,
    schema: endpointSliceSchema,
  },
  Namespace: {
    group: "",
    versions: ["v1"],
    plural: "namespaces",
    namespaced: false,
    schema: namespaceSchema,
  },
  Secret: { group: "", versions: ["v1"], plural: "secrets", namespaced: true, schema: secretSchema },
};

/** All supported kind names, in a stable order. */
export const RESOURCE_KINDS: readonly ResourceKind[] = Object.keys(KINDS) as ResourceKind[];

/** Whether `kind` is a supported kind name. */
export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === "string" && Object.hasOwn(KINDS, kind);
}

/** `apiVersion` string (`group/version`, or just `version` for the core group). */
export function apiVersionOf(info: KindInfo, version: string): string {
  return info.group === "" ? version : `${info.group}/${version}`;
}

function aeraki(area: string): string {
  return `${area}.aeraki.io`;
}
