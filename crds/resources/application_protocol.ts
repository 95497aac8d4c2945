/**
 * ApplicationProtocol (`metaprotocol.aeraki.io/v1alpha1`, **cluster**-scoped, plural `applicationprotocols`):
 * maps a protocol name (segment 2 of `tcp-metaprotocol-<name>-…` port names) to a data-plane codec (spec §5.1).
 *
 * @module
 */
import { z } from "zod";
import { parseDescription } from "../declarative_codec.ts";
import { specResource } from "./common.ts";

/**
 * metamesh extension: an ApplicationProtocol whose codec is `metamesh.codec.declarative` carries its protocol
 * description (docs/declarative-codec.md) in this annotation (YAML text)…
 */
export const CODEC_DESCRIPTION_ANNOTATION = "metamesh.io/codec-description";
/** …or names a file holding it, read by the proxy. */
export const CODEC_DESCRIPTION_FILE_ANNOTATION = "metamesh.io/codec-description-file";

/** The ApplicationProtocol `spec`. */
export const applicationProtocolSpecSchema = z.looseObject({
  protocol: z.string().optional(),
  codec: z.string().optional(),
});

/** A whole ApplicationProtocol resource; an inline codec description must be a valid description. */
export const applicationProtocolSchema = specResource(
  "ApplicationProtocol",
  ["metaprotocol.aeraki.io/v1alpha1"],
  applicationProtocolSpecSchema,
).superRefine((resource, ctx) => {
  const text = resource.metadata?.annotations?.[CODEC_DESCRIPTION_ANNOTATION];
  if (text === undefined) return;
  try {
    parseDescription(text);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      path: ["metadata", "annotations", CODEC_DESCRIPTION_ANNOTATION],
      message: (error as Error).message,
    });
  }
});

/** Inferred type of {@link applicationProtocolSchema}. */
export type ApplicationProtocol = z.infer<typeof applicationProtocolSchema>;
