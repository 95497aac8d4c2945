/**
 * ApplicationProtocol (`metaprotocol.aeraki.io/v1alpha1`, **cluster**-scoped, plural `applicationprotocols`):
 * maps a protocol name (segment 2 of `tcp-metaprotocol-<name>-…` port names) to a data-plane codec (spec §5.1).
 *
 * @module
 */
import { z } from "zod";
import { specResource } from "./common.ts";

/** The ApplicationProtocol `spec`. */
export const applicationProtocolSpecSchema = z.looseObject({
  protocol: z.string().optional(),
  codec: z.string().optional(),
});

/** A whole ApplicationProtocol resource. */
export const applicationProtocolSchema = specResource(
  "ApplicationProtocol",
  ["metaprotocol.aeraki.io/v1alpha1"],
  applicationProtocolSpecSchema,
);

/** Inferred type of {@link applicationProtocolSchema}. */
export type ApplicationProtocol = z.infer<typeof applicationProtocolSchema>;
