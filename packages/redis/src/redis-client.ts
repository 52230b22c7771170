import type { Cluster, Redis } from 'ioredis';

/** The client the Redis-backed parts take: an ioredis `Redis` or `Cluster`, configured by the app. */
export type RedisClient = Redis | Cluster;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * @internal Defines `lua` on `redis` as the command `name` (ioredis runs it with EVALSHA and falls
 * back to EVAL when Redis does not know the script yet, e.g. after a restart) and returns a
 * caller of it. Defining twice on one client is a no-op.
 */
export function defineScript(redis: RedisClient, name: string, lua: string, keys = 1): Script {
  const client = redis as unknown as Record<string, Script | undefined>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys: keys });
  const command = client[name] as Script;
  return (...args) => command.apply(redis, args);
}
