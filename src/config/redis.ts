/** Several replicas: REPLICAS, and REDIS_URL with its settings (company slots, budget, APQ and events shared). */
import { z } from "zod";
import { describe, integer, oneOf, parseSection, read, type Env, type Section } from "./fields.js";

const replicas = z.object({
  REPLICAS: describe(integer(1, 1_000).default(1), {
    description:
      "How many copies of the gateway run behind one address; above 1 it requires `SIGNING_SECRET` and is the default of `REDIS_EXPECTED_REPLICAS`. Without `REDIS_URL` each copy keeps its own limits.",
  }),
  REDIS_URL: describe(
    z
      .string()
      .refine(
        (raw) => {
          const url = URL.parse(raw);
          return url !== null && (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
        },
        // The value is never echoed: it may carry a password.
        { error: "must be a redis:// or rediss:// URL (redis://[:password@]host[:port][/db])" },
      )
      .optional(),
    {
      default: "unset (limits per process)",
      description:
        "Share the per-company Codat limits, the request budget, APQ and push-status events across replicas through this Redis (`redis://` or `rediss://`); requires `SIGNING_SECRET`. Never logged with its password.",
    },
  ),
});

/** The settings that only mean something with REDIS_URL (refused without it). */
const settings = z.object({
  REDIS_FAILURE_MODE: describe(oneOf(["fail", "local"], { phrase: "fail or local", lowercase: true }).default("fail"), {
    description: "`fail`: a replica that cannot reach Redis at startup exits; `local`: it starts on the fallback cap.",
  }),
  REDIS_EXPECTED_REPLICAS: describe(integer(1, 1_000).optional(), {
    default: "`REPLICAS` when above 1, else `3`",
    description:
      "While Redis is unreachable each replica takes floor(cap / this) (at least 1) of a company's slots and floor(budget / this) of the request budget.",
  }),
  REDIS_LEASE_MS: describe(integer(300, 600_000).default(10_000), {
    description:
      "A permit's lease: a crashed replica's permits return after this; held ones are renewed. Redis counts as down when its connection closes or commands fail for this long; the fallback then grants from a lease after Redis last answered.",
  }),
  REDIS_COMMAND_TIMEOUT_MS: describe(integer(10, 60_000).default(500), {
    description:
      "The longest a Redis command may take; one that does not answer in time is asked again (slow is not down). At most half of `REDIS_LEASE_MS`.",
  }),
  REDIS_CONNECT_TIMEOUT_MS: describe(integer(100, 120_000).default(5_000), { description: "How long startup waits for Redis." }),
  REDIS_RETRY_INTERVAL_MS: describe(integer(1, 10_000).default(20), {
    description: "How often a replica asks again while a company's permits are all taken.",
  }),
  REDIS_KEY_PREFIX: describe(
    z
      .string()
      .regex(/^[\x21-\x7e]{1,100}$/, { error: "must be 1 to 100 visible ASCII characters" })
      .default("codat-gateway:"),
    { description: "Prefix of every Redis key, to share one Redis between deployments." },
  ),
});

export const redisSections: Section[] = [
  { title: "Replicas and Redis", intro: "See [Running several replicas](replicas.md).", model: replicas },
  { title: "Redis settings", intro: "Only with `REDIS_URL`: set without it, each is refused.", model: settings, requires: "REDIS_URL" },
];

/** `signingSecretSet`: SIGNING_SECRET is given (valid or not: a short one is reported on its own). */
export function parseRedis(env: Env, problems: string[], shared: { signingSecretSet: boolean }) {
  const r = parseSection(replicas, env, problems);
  const redis = redisSettings(env, problems, r);
  if ((redis !== undefined || r.REPLICAS > 1) && !shared.signingSecretSet) {
    problems.push(
      `${redis !== undefined ? "REDIS_URL" : "REPLICAS > 1"} (several replicas) needs SIGNING_SECRET, the same on every replica, so cursors and download links verify on any of them`,
    );
  }
  return {
    /** REDIS_URL and its settings: company slots shared by every replica. Undefined = per-process slots only. */
    redis,
  };
}

function redisSettings(env: Env, problems: string[], r: z.output<typeof replicas>) {
  const url = read(env, "REDIS_URL");
  if (url === undefined) {
    for (const name of Object.keys(settings.shape)) {
      if (read(env, name) !== undefined) problems.push(`${name} has no effect without REDIS_URL`);
    }
    return undefined;
  }
  const s = parseSection(settings, env, problems);
  if (s.REDIS_COMMAND_TIMEOUT_MS * 2 > s.REDIS_LEASE_MS) {
    problems.push(`REDIS_COMMAND_TIMEOUT_MS (${s.REDIS_COMMAND_TIMEOUT_MS}) must be at most half of REDIS_LEASE_MS (${s.REDIS_LEASE_MS})`);
  }
  return {
    /** redis:// or rediss:// URL (may carry a password: never logged or echoed). */
    url,
    /** REDIS_FAILURE_MODE: "fail" (default) refuses to start without Redis; "local" starts on the fallback cap. */
    failureMode: s.REDIS_FAILURE_MODE,
    /**
     * REDIS_EXPECTED_REPLICAS (default REPLICAS when that is above 1, else 3): without Redis each replica takes
     * floor(cap / this) (at least 1) of a company's slots.
     */
    expectedReplicas: s.REDIS_EXPECTED_REPLICAS ?? (r.REPLICAS > 1 ? r.REPLICAS : 3),
    /**
     * REDIS_LEASE_MS: a permit of a replica that died returns after this; held ones are renewed. Also how long
     * commands must fail in a row before Redis counts as down, and how long the fallback waits.
     */
    leaseMs: s.REDIS_LEASE_MS,
    /** REDIS_COMMAND_TIMEOUT_MS: the longest a Redis command may take before it is asked again. */
    commandTimeoutMs: s.REDIS_COMMAND_TIMEOUT_MS,
    /** REDIS_CONNECT_TIMEOUT_MS: how long startup waits for Redis. */
    connectTimeoutMs: s.REDIS_CONNECT_TIMEOUT_MS,
    /** REDIS_RETRY_INTERVAL_MS: how often a replica asks again for a company's permits while all are taken. */
    retryIntervalMs: s.REDIS_RETRY_INTERVAL_MS,
    /** REDIS_KEY_PREFIX (default "codat-gateway:"). */
    keyPrefix: s.REDIS_KEY_PREFIX,
  };
}

export type RedisConfig = NonNullable<ReturnType<typeof redisSettings>>;
