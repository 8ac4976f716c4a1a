import type { UisProject } from './contracts/uis';
import type { Clock } from './domain/clock';
import type { WorkspaceAdapters } from './services/workspace-ports';
import { dataApiForLink } from './uis/data-api';
import type { UisEndpoints } from './uis/endpoints';
import { createUisRuntimeFactory } from './uis/runtime-client';
import { createWorkspaceProbe } from './uis/workspace-probe';

/**
 * Concrete adapters of the operator workspace feature (issue #5), for the composition root:
 * the channel table, one runtime client factory per process (its token cache is shared), the
 * Data API with each link's key, and the workspace reachability probe.
 */
export function createWorkspaceAdapters(o: { channels: WorkspaceAdapters['channels']; clock: Clock; fetch?: typeof fetch; uisEndpoints(project: UisProject): UisEndpoints }): WorkspaceAdapters {
  const now = () => o.clock.now();
  const runtimeFor = createUisRuntimeFactory({ fetch: o.fetch, now });
  return {
    channels: o.channels,
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
