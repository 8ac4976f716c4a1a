import type { UisProject } from '../contracts/uis';

/** The four UIS services the app talks to, for one project (docs/facts/uis.md#data-api, docs/facts/uis.md#management-api, docs/facts/uis.md#runtime-api). */
export interface UisEndpoints {
  /** JSON-RPC login that issues the Chat API management JWT. */
  authUrl: string;
  /** Chat API management base (…/v1/integration/…). */
  managementUrl: string;
  /** Chat API runtime base (…/v1/adapter/…). */
  runtimeUrl: string;
  /** Data API JSON-RPC endpoint. */
  dataApiUrl: string;
  /** Call API JSON-RPC endpoint (click-to-call and the callback form start calls there, docs/facts/telephony.md#call-api). */
  callApiUrl: string;
  /**
   * The operator workspace (РМО) our pages frame. The public docs name the РМО but not its address
   * or deep-link parameters (comagic/comagic.github.io chat_api §"Соглашения"): the default is our
   * best guess on the account's own domain (go.uiscom.ru) and must be confirmed with UIS; set
   * UIS_WORKSPACE_URL to override it.
   */
  workspaceUrl: string;
}

/** Real hosts per project. CoMagic accounts are refused for now, but their hosts are known. */
export const DEFAULT_UIS_ENDPOINTS: Record<UisProject, UisEndpoints> = {
  uis: {
    authUrl: 'https://go.uiscom.ru/api/auth/json_rpc',
    managementUrl: 'https://chats-prod-logic.uiscom.ru',
    runtimeUrl: 'https://chat-integration-api-prod.uiscom.ru',
    dataApiUrl: 'https://dataapi.uiscom.ru/v2.0',
    callApiUrl: 'https://callapi.uiscom.ru/v4.0',
    workspaceUrl: 'https://go.uiscom.ru/workspace',
  },
  comagic: {
    authUrl: 'https://go.comagic.ru/api/auth/json_rpc',
    managementUrl: 'https://chats-prod-logic.comagic.ru',
    runtimeUrl: 'https://chat-integration-api-prod.comagic.ru',
    dataApiUrl: 'https://dataapi.comagic.ru/v2.0',
    callApiUrl: 'https://callapi.comagic.ru/v4.0',
    workspaceUrl: 'https://go.comagic.ru/workspace',
  },
};

export function resolveUisEndpoints(project: UisProject, overrides: Partial<UisEndpoints>): UisEndpoints {
  const d = DEFAULT_UIS_ENDPOINTS[project];
  const pick = (k: keyof UisEndpoints) => (overrides[k] ?? d[k]).replace(/\/+$/, '');
  return {
    authUrl: pick('authUrl'),
    managementUrl: pick('managementUrl'),
    runtimeUrl: pick('runtimeUrl'),
    dataApiUrl: pick('dataApiUrl'),
    callApiUrl: pick('callApiUrl'),
    workspaceUrl: pick('workspaceUrl'),
  };
}
