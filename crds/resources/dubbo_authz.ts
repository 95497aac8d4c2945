/**
 * DubboAuthorizationPolicy (`dubbo.aeraki.io/v1alpha1`, namespaced, plural `dubboauthorizationpolicies`):
 * allow/deny rules for legacy `tcp-dubbo` services (spec §5.3). Field for field as the CRD.
 *
 * @module
 */
import { z } from "zod";
import { specResource, stringList } from "./common.ts";

/** `Source`: who is calling (principals and namespaces, with negations). */
export const dubboSourceSchema = z.looseObject({
  principals: stringList.optional(),
  notPrincipals: stringList.optional(),
  namespaces: stringList.optional(),
  notNamespaces: stringList.optional(),
});

/** `Operation`: which interface/method is called (with negations). */
export const dubboOperationSchema = z.looseObject({
  interfaces: stringList.optional(),
  notInterfaces: stringList.optional(),
  methods: stringList.optional(),
  notMethods: stringList.optional(),
});

/** The DubboAuthorizationPolicy `spec` (absent `action` = ALLOW). */
export const dubboAuthorizationPolicySpecSchema = z.looseObject({
  rules: z.array(z.looseObject({
    from: z.array(z.looseObject({ source: dubboSourceSchema.optional() })).optional(),
    to: z.array(z.looseObject({ operation: dubboOperationSchema.optional() })).optional(),
  })).optional(),
  action: z.enum(["ALLOW", "DENY"]).optional(),
});

/** A whole DubboAuthorizationPolicy resource. */
export const dubboAuthorizationPolicySchema = specResource(
  "DubboAuthorizationPolicy",
  ["dubbo.aeraki.io/v1alpha1"],
  dubboAuthorizationPolicySpecSchema,
);

/** Inferred type of {@link dubboAuthorizationPolicySchema}. */
export type DubboAuthorizationPolicy = z.infer<typeof dubboAuthorizationPolicySchema>;
