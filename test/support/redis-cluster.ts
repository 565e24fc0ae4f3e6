/**
 * A throwaway three-master Redis Cluster (redis-server --cluster-enabled,
 * joined with `redis-cli --cluster create`), for the ioredis `Cluster`
 * client test. Skipped when redis-cli is missing.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisServer, freePort } from './redis-server.js';

const run = promisify(execFile);

export async function hasRedisCli(): Promise<boolean> {
  try {
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    // not installed: the caller skips
    return false;
  }
}

export class RedisClusterServers {
  private constructor(
    readonly servers: RedisServer[],
    private readonly files: string[],
  ) {}

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
  }

  /** Starts three masters and waits (bounded) until every node reports cluster_state:ok. */
  static async start(timeoutMs = 15_000): Promise<RedisClusterServers> {
    const servers: RedisServer[] = [];
    const files: string[] = [];
    const cluster = new RedisClusterServers(servers, files);
    try {
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const file = join(tmpdir(), `nc-test-cluster-${process.pid}-${port}.conf`);
        files.push(file);
        servers.push(await RedisServer.start(port, ['--cluster-enabled', 'yes', '--cluster-config-file', file, '--cluster-node-timeout', '2000']));
      }
      const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: timeoutMs });
      const deadline = Date.now() + timeoutMs;
      for (const server of servers) {
        for (;;) {
          const { stdout } = await run('redis-cli', ['-p', `${server.port}`, 'cluster', 'info'], { timeout: 2000 });
          if (stdout.includes('cluster_state:ok')) break;
          if (Date.now() > deadline) throw new Error(`the Redis cluster was not ok within ${timeoutMs}ms`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop('SIGKILL')));
    await Promise.all(this.files.map((file) => rm(file, { force: true })));
  }
}
