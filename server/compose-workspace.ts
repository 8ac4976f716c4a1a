import type { UisProject } from './contracts/uis';
import type { Clock } from './domain/clock';
import { asyncPort } from './services/async-port';
import type { UisChannelRepository, WorkspaceAdapters } from './services/workspace-ports';
import type { Db } from './storage/db';
import { createSqliteUisChannelRepository } from './storage/uis-channel-repository';
import { dataApiForLink } from './uis/data-api';
import type { UisEndpoints } from './uis/endpoints';
import { createUisRuntimeFactory } from './uis/runtime-client';
import { createWorkspaceProbe } from './uis/workspace-probe';

/**
 * Concrete adapters of the operator workspace feature (issue #5), for the composition root:
 * the channel table, one runtime client factory per process (its token cache is shared), the
 * Data API with each link's key, and the workspace reachability probe. The channel table is also
 * given as is (`sqliteChannels`): the UIS callback chain writes it inside the intake's transaction.
 */
export function createWorkspaceAdapters(o: { db: Db; clock: Clock; fetch?: typeof fetch; uisEndpoints(project: UisProject): UisEndpoints }): WorkspaceAdapters & { sqliteChannels: UisChannelRepository } {
  const now = () => o.clock.now();
  const runtimeFor = createUisRuntimeFactory({ fetch: o.fetch, now });
  const sqliteChannels = createSqliteUisChannelRepository(o.db, now);
  return {
    channels: asyncPort(sqliteChannels),
    sqliteChannels,
    runtime: (link) => runtimeFor({ runtimeUrl: o.uisEndpoints(link.project).runtimeUrl, login: link.adapterLogin, password: link.adapterPassword }),
    dataApi: {
      async call(link, method, params) {
        const client = dataApiForLink(link, o.uisEndpoints, o.fetch);
        return (await client.call(method, params)).data as never;
      },
    },
    probe: createWorkspaceProbe({ fetch: o.fetch, now }),
  };
}
