/** A call started from Bitrix24 (issue #14): a click on a number, or the callback form. */
export interface TelephonyStart {
  memberId: string;
  /** our external_id of the UIS Call API session */
  correlationId: string;
  kind: 'click' | 'callback';
  /** Bitrix24's CALL_ID: given by ONEXTERNALCALLSTART, or what our TYPE 4 register returned */
  callId: string | null;
  /** the user the call is registered for (finished for) */
  userId: number | null;
  /** the client's number, digits */
  phone: string;
  sessionId: number | null;
  status: 'started' | 'failed';
  /** why it could not start: a code and the text the employee was shown */
  errorCode: string | null;
  error: string | null;
  createdAt: number;
}

/** Storage of the starts (server/storage/telephony-starts-repository.ts). Asynchronous like every new port. */
export interface TelephonyStartRepository {
  save(s: TelephonyStart): Promise<void>;
  /** The starts these external_ids name (a notification's external_id that is not ours finds nothing). */
  get(memberId: string, correlationIds: readonly string[]): Promise<Map<string, TelephonyStart>>;
  /** The last failed starts, newest first (the tab shows them to the admin). */
  failures(memberId: string, limit: number): Promise<TelephonyStart[]>;
  /** Retention: starts made before `before`. */
  prune(before: number): Promise<number>;
}
