import type { DataApiClient } from './data-api';

/**
 * The UIS account's time zone (Data API `get.account` `timezone`; Moscow when it says nothing),
 * read once per portal and kept for the life of the worker that asks.
 */
export function accountZones(): (memberId: string, api: DataApiClient) => Promise<string> {
  const zones = new Map<string, string>();
  return async (memberId, api) => {
    let z = zones.get(memberId);
    if (!z) {
      const r = await api.call<Array<{ timezone?: string }>>('get.account');
      z = (Array.isArray(r.data) && r.data[0]?.timezone) || 'Europe/Moscow';
      zones.set(memberId, z);
    }
    return z;
  };
}
