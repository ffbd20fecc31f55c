/** Codat's webhooks in: the receiver's signing secret, route and body bound (src/webhooks/route.ts). */
import { z } from "zod";
import { describe, integer, parseSection, read, type Env, type Section } from "./fields.js";

/** Paths the gateway serves itself, which the webhook route must not shadow. */
const RESERVED_PATHS = ["/graphql", "/healthz", "/readyz", "/metrics"];

const secret = z.object({
  CODAT_WEBHOOK_SECRET: describe(
    z
      .string()
      // Standard Webhooks secrets are base64 (Codat's portal shows them with a `whsec_` prefix). Never echoed.
      .refine(
        (value) => {
          const key = value.startsWith("whsec_") ? value.slice("whsec_".length) : value;
          return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0 && Buffer.from(key, "base64").length >= 16;
        },
        { error: "must be the endpoint's signing secret from Codat: whsec_ followed by base64 (16+ bytes)" },
      )
      .optional(),
    {
      default: "unset (no webhook route; push status is polled)",
      description:
        "The signing secret of your Codat webhook endpoint (`whsec_…`, from the Portal). When set, `POST /webhooks/codat` receives Codat's webhooks; never logged.",
    },
  ),
});

/** The settings that only mean something with CODAT_WEBHOOK_SECRET (refused without it). */
const settings = z.object({
  CODAT_WEBHOOK_PATH: describe(
    z
      .string()
      .refine((path) => /^\/[A-Za-z0-9._~\-/]*$/.test(path) && !path.includes("//"), {
        error: (issue) => `must be a path starting with / (letters, digits, . _ ~ - /), got "${String(issue.input)}"`,
        abort: true,
      })
      .refine((path) => !RESERVED_PATHS.includes(path) && !path.startsWith("/downloads/"), {
        error: (issue) => `must not be one of the gateway's own routes (got "${String(issue.input)}")`,
      })
      .default("/webhooks/codat"),
    { description: "Path of the webhook route (must start with `/`; not one of the gateway's own routes)." },
  ),
  CODAT_WEBHOOK_MAX_BODY_BYTES: describe(integer(1_024, 10_485_760).default(262_144), {
    default: "`262144` (256 KiB)",
    description: "Largest webhook body; beyond it 413, the rest unread.",
  }),
});

export const webhookSections: Section[] = [
  {
    title: "Webhooks",
    intro: "See [Webhooks](writes.md#webhooks).",
    model: secret,
  },
  {
    title: "Webhook settings",
    intro: "Only with `CODAT_WEBHOOK_SECRET`: set without it, each is refused.",
    model: settings,
    requires: "CODAT_WEBHOOK_SECRET",
  },
];

export function parseWebhooks(env: Env, problems: string[]) {
  return {
    /** CODAT_WEBHOOK_SECRET and friends: the receiver of Codat's webhooks (webhooks/route.ts). Undefined = no route. */
    codatWebhook: receiver(env, problems),
  };
}

function receiver(env: Env, problems: string[]) {
  const s = parseSection(secret, env, problems);
  const given = read(env, "CODAT_WEBHOOK_SECRET");
  if (given === undefined) {
    for (const name of Object.keys(settings.shape)) {
      if (read(env, name) !== undefined) problems.push(`${name} has no effect without CODAT_WEBHOOK_SECRET`);
    }
    return undefined;
  }
  const w = parseSection(settings, env, problems);
  return {
    /** CODAT_WEBHOOK_SECRET: the endpoint's signing secret from Codat's portal (`whsec_<base64>` or the base64 alone). Never logged. */
    secret: s.CODAT_WEBHOOK_SECRET ?? given,
    /** CODAT_WEBHOOK_PATH (default `/webhooks/codat`): where Codat POSTs. */
    path: w.CODAT_WEBHOOK_PATH,
    /** CODAT_WEBHOOK_MAX_BODY_BYTES (default 262 144): a larger body is answered 413 unread. */
    maxBodyBytes: w.CODAT_WEBHOOK_MAX_BODY_BYTES,
  };
}

export type CodatWebhookConfig = NonNullable<ReturnType<typeof receiver>>;
