import { z } from 'zod';

/** The contact-center connector page (`/b24/placements/connector`) ⇄ `/api/connector`. */

export const lineIdSchema = z.string().regex(/^\d{1,9}$/, 'line must be an open line id');

export const connectorChannelSchema = z.object({
  channelId: z.string(),
  name: z.string(),
  type: z.string(),
  /** The open line this channel is bound to, if any. */
  lineId: z.string().nullable(),
});
export type ConnectorChannel = z.infer<typeof connectorChannelSchema>;

export const connectorViewSchema = z.object({
  line: z.string(),
  /** A UIS account is linked on the main page. */
  linked: z.boolean(),
  binding: z
    .object({
      channelId: z.string(),
      channelName: z.string(),
      channelType: z.string(),
      status: z.enum(['active', 'off']),
      /**
       * The channel as UIS reports it (PATCH /channel): `disabled` — UIS sends nothing for it now;
       * what clients write meanwhile is relayed once it is active again.
       */
      uisStatus: z.enum(['active', 'disabled', 'removed', 'unknown']),
      /** The Chats CRM rules are off for this channel while the line drives it. */
      chatsRulesOff: z.boolean(),
      lastError: z.string().nullable(),
    })
    .nullable(),
  /** The channels a line may take (SMS and Yandex channels are not among them). */
  channels: z.array(connectorChannelSchema),
  /** The account's channels that cannot drive an open line (seed 002: SMS, Yandex), named so the page can say why they are missing. */
  notForOpenLines: z.array(z.object({ channelId: z.string(), name: z.string(), type: z.string() })),
  /** The adapter connection as UIS reports it (PATCH /account): `disabled` — no channel gets anything; null = not linked. */
  accountStatus: z.enum(['active', 'disabled', 'removed', 'unknown']).nullable(),
  /** What Bitrix24 reports for the connector on this line (imconnector.status); null when it could not be read. */
  portal: z.object({ active: z.boolean(), configured: z.boolean(), error: z.boolean() }).nullable(),
  portalError: z.string().nullable(),
  /** The UIS employee used when an operator's e-mail matches no employee (portal-wide); null = none. */
  defaultOperatorId: z.number().nullable(),
  /** Set after a change: the channel was moved here from another line. */
  movedFrom: z.string().nullable().optional(),
  /** Set after connecting: the channel's type was ticked on the «Чаты» tab and is unticked now (Open Lines create the CRM entities for it). */
  chatsUnticked: z.boolean().optional(),
});
export type ConnectorView = z.infer<typeof connectorViewSchema>;

export const connectorBindRequestSchema = z.object({ line: lineIdSchema, channelId: z.string().regex(/^\d{1,18}$/) });
export type ConnectorBindRequest = z.infer<typeof connectorBindRequestSchema>;

export const connectorEmployeeSchema = z.object({ id: z.number(), name: z.string(), email: z.string().nullable(), chatEnabled: z.boolean() });
export const connectorEmployeesSchema = z.object({ employees: z.array(connectorEmployeeSchema), defaultOperatorId: z.number().nullable() });
export type ConnectorEmployees = z.infer<typeof connectorEmployeesSchema>;

export const defaultOperatorRequestSchema = z.object({ operatorId: z.number().int().positive().nullable() });
export type DefaultOperatorRequest = z.infer<typeof defaultOperatorRequestSchema>;
