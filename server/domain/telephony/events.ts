/**
 * What UIS tells about a call (docs/facts/telephony.md#uis-call-signals): HTTP notifications per event type, and the
 * Data API reports the reconciliation reads. The wire parsing lives in server/uis/; these are the
 * normalised shapes the call's fold (track.ts) works on.
 */

import type { CallEventType } from '../../contracts/telephony';

/** The event types we read (`/uis/calls/<secret>/<type>`): server/contracts/telephony.ts. */
export { CALL_EVENT_TYPES, type CallEventType } from '../../contracts/telephony';

/** One notification, every field as UIS sent it (null when absent, null or unparsable). */
export interface CallNotification {
  event: CallEventType;
  /** when we recorded it (ms); ties and missing UIS times order by it */
  receivedAt: number;
  sessionId: number | null;
  communicationId: number | null;
  /** what we (or Bitrix24's click-to-call, issue #14) passed to the Call API */
  externalId: string | null;
  direction: 'in' | 'out' | null;
  virtualNumber: string | null;
  contactPhone: string | null;
  contactName: string | null;
  scenarioId: number | null;
  scenarioName: string | null;
  /** `start_time` in the account's zone (Data API format) */
  startTime: string | null;
  /** `notification_timestamp`, unix seconds */
  timestamp: number | null;
  employeeId: number | null;
  employeeName: string | null;
  extension: string | null;
  legId: number | null;
  legIds: number[];
  employeeIds: number[];
  talkSeconds: number | null;
  totalSeconds: number | null;
  waitSeconds: number | null;
  callStatus: string | null;
  fileLink: string | null;
  fileDuration: number | null;
}

/** A get.calls_report row (and, when read, its get.call_legs_report rows) as the fold needs it. */
export interface CallReport {
  id: number;
  communicationId: number | null;
  direction: 'in' | 'out' | null;
  /** ms */
  startedAt: number | null;
  finishedAt: number | null;
  finishReason: string | null;
  isLost: boolean;
  contactPhone: string | null;
  contactName: string | null;
  virtualNumber: string | null;
  scenarioId: number | null;
  scenarioName: string | null;
  operations: Array<{ id: number; name: string }>;
  employees: Array<{ id: number; name: string | null; answered: boolean; talked: boolean }>;
  firstTalkedId: number | null;
  lastTalkedId: number | null;
  talkSeconds: number;
  /** a link to the whole recording, and the record ids */
  recordLink: string | null;
  recordIds: number[];
  externalId: string | null;
  campaignId: number | null;
  campaignName: string | null;
  firstCampaignId: number | null;
  firstCampaignName: string | null;
  siteId: number | null;
  siteName: string | null;
  sourceId: number | null;
  sourceName: string | null;
  utm: Partial<Record<'source' | 'medium' | 'campaign' | 'term' | 'content', string | null>>;
  /** legs: who rang and talked, and the group the visitor chose / the operation that rang them */
  legs: Array<{ id: number; employeeId: number | null; connectedAt: number | null; groupId: number | null; groupName: string | null; actionId: number | null; actionName: string | null; transfer: boolean }> | null;
}
