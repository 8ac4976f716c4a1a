import { z } from 'zod';

/**
 * Configuration, read from the environment in one place and validated at boot
 * (style.md rule 16). Errors name the variable and what to put there.
 */
const DEFAULT_OAUTH_SERVERS = 'https://oauth.bitrix.info,https://oauth.bitrix24.tech';

const originList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)).min(1));

const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    APP_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z
      .string()
      .regex(/^(file:|postgres(ql)?:\/\/)/, 'must be an SQLite file URL such as file:./data/omni.db (or file::memory:), or a PostgreSQL URL such as postgres://user:password@host:5432/omni')
      .default('file:./data/omni.db'),
    /** PostgreSQL only: the schema the tables live in (default: the server's, public) */
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case PostgreSQL identifier such as omni')
      .optional(),
    /** PostgreSQL only: connections per instance */
    DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
    B24_CLIENT_ID: z.string().min(1).optional(),
    B24_CLIENT_SECRET: z.string().min(1).optional(),
    B24_OAUTH_SERVERS: originList.default(DEFAULT_OAUTH_SERVERS.split(',')),
    B24_RATE_LIMIT: z
      .string()
      .regex(/^\d+(\.\d+)?\/\d+$/, 'must be "<requests per second>/<burst>", e.g. 2/50 (Enterprise: 5/250)')
      .default('2/50'),
    APP_SECRET_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
    UIS_AUTH_URL: z.url({ protocol: /^https?$/ }).optional(),
    UIS_CHAT_MANAGEMENT_URL: z.url({ protocol: /^https?$/ }).optional(),
    UIS_CHAT_RUNTIME_URL: z.url({ protocol: /^https?$/ }).optional(),
    UIS_DATA_API_URL: z.url({ protocol: /^https?$/ }).optional(),
    UIS_CALL_API_URL: z.url({ protocol: /^https?$/ }).optional(),
    UIS_WORKSPACE_URL: z.url({ protocol: /^https?$/ }).optional(),
    AMOCRM_CLIENT_ID: z.string().min(1).optional(),
    AMOCRM_CLIENT_SECRET: z.string().min(1).optional(),
    AMOCRM_DOMAINS: z
      .string()
      .regex(/^[a-z0-9.-]+(,[a-z0-9.-]+)*$/, 'must be a comma-separated list of domains, e.g. amocrm.ru,amocrm.com,kommo.com')
      .default('amocrm.ru,amocrm.com,kommo.com'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
    LEASE_TTL_MS: z.coerce.number().int().min(300).max(600_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.B24_CLIENT_ID && !env.B24_CLIENT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['B24_CLIENT_SECRET'], message: 'is required when B24_CLIENT_ID is set' });
    }
    if (env.B24_CLIENT_ID && !env.APP_SECRET_KEY) {
      ctx.addIssue({ code: 'custom', path: ['APP_SECRET_KEY'], message: 'is required when B24_CLIENT_ID is set (it encrypts tokens at rest)' });
    }
    if (env.AMOCRM_CLIENT_ID && !env.AMOCRM_CLIENT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AMOCRM_CLIENT_SECRET'], message: 'is required when AMOCRM_CLIENT_ID is set (the secret key of the amoCRM integration)' });
    }
    if (env.B24_CLIENT_ID && !env.APP_URL) {
      ctx.addIssue({ code: 'custom', path: ['APP_URL'], message: 'is required when B24_CLIENT_ID is set (the public https URL the portal reaches)' });
    }
  });

export interface RateLimit {
  drainPerSec: number;
  burst: number;
}

/** UIS endpoints; unset ones default to the real hosts of the linked account's project (docs/facts/uis.md#data-api, docs/facts/uis.md#chat-api). */
export interface UisEndpointOverrides {
  authUrl?: string;
  managementUrl?: string;
  runtimeUrl?: string;
  dataApiUrl?: string;
  /** Call API (click-to-call, the callback form). */
  callApiUrl?: string;
  /** The operator workspace (РМО) the left-menu page and CRM tabs frame. */
  workspaceUrl?: string;
}

export interface Config {
  port: number;
  host: string;
  /** Public base URL, no trailing slash. Undefined only in sandbox mode before the port is known. */
  appUrl: string | undefined;
  /** SQLite: the file (or `:memory:`); unused on PostgreSQL */
  databasePath: string;
  /** PostgreSQL: the connection URL (DATABASE_URL=postgres://…), its schema and pool size; null on SQLite */
  postgres: { url: string; schema: string | undefined; poolSize: number } | null;
  /** Sandbox mode: no Bitrix24 app credentials, so the emulated portal is started and used. */
  sandbox: boolean;
  clientId: string | undefined;
  clientSecret: string | undefined;
  oauthServers: string[];
  rateLimit: RateLimit;
  appSecretKey: string | undefined;
  logLevel: string;
  uis: UisEndpointOverrides;
  /** The amoCRM integration (chat sources, issue #15); null when AMOCRM_CLIENT_ID is not set. */
  amocrm: { clientId: string; clientSecret: string; domains: string[] } | null;
  /**
   * SIGTERM: unready (`/readyz` 503) for `delayMs` while still serving, then stop accepting and let
   * what is in flight finish for at most `timeoutMs` (server/lifecycle.ts).
   */
  shutdown: { delayMs: number; timeoutMs: number };
  /**
   * Several instances on one database (issue #12): a portal's lease (its job-loop work, its token
   * refresh) lives this long unless renewed (every third of it); a killed instance's portals are
   * taken over by another once it runs out.
   */
  leaseTtlMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse and validate the environment; throws a ConfigError that says what to fix. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(emptyToUndefined(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee docs/configuration.md.`);
  }
  const e = parsed.data;
  const [drain, burst] = e.B24_RATE_LIMIT.split('/').map(Number) as [number, number];
  return {
    port: e.PORT,
    host: e.HOST,
    appUrl: e.APP_URL?.replace(/\/+$/, ''),
    databasePath: e.DATABASE_URL.startsWith('file:') ? e.DATABASE_URL.replace(/^file:/, '') : ':memory:',
    postgres: e.DATABASE_URL.startsWith('file:') ? null : { url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, poolSize: e.DATABASE_POOL_SIZE },
    sandbox: !e.B24_CLIENT_ID,
    clientId: e.B24_CLIENT_ID,
    clientSecret: e.B24_CLIENT_SECRET,
    oauthServers: e.B24_OAUTH_SERVERS,
    rateLimit: { drainPerSec: drain, burst },
    appSecretKey: e.APP_SECRET_KEY,
    logLevel: e.LOG_LEVEL,
    shutdown: { delayMs: e.SHUTDOWN_DELAY_MS, timeoutMs: e.SHUTDOWN_TIMEOUT_MS },
    leaseTtlMs: e.LEASE_TTL_MS,
    amocrm: e.AMOCRM_CLIENT_ID ? { clientId: e.AMOCRM_CLIENT_ID, clientSecret: e.AMOCRM_CLIENT_SECRET!, domains: e.AMOCRM_DOMAINS.split(',') } : null,
    uis: {
      authUrl: e.UIS_AUTH_URL,
      managementUrl: e.UIS_CHAT_MANAGEMENT_URL,
      runtimeUrl: e.UIS_CHAT_RUNTIME_URL,
      dataApiUrl: e.UIS_DATA_API_URL,
      callApiUrl: e.UIS_CALL_API_URL,
      workspaceUrl: e.UIS_WORKSPACE_URL,
    },
  };
}

function emptyToUndefined(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) out[k] = v === '' ? undefined : v;
  return out;
}
