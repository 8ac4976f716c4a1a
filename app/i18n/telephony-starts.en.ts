import type { telephonyStartsRu } from './telephony-starts.ru';

/** «Звонки по клику из CRM» and «Обратный звонок» (issue #14), English. */
export const telephonyStartsEn: Record<keyof typeof telephonyStartsRu, string> = {
  'tel.click.title': 'Click-to-call from CRM',
  'tel.click.use': 'Use',
  'tel.click.help': 'An employee clicks a number in Bitrix24 (CRM card, list, call list): his UIS phone rings first, then the client. The call, its recording and outcome appear in Bitrix24.',
  'tel.click.number': 'Number for click-to-call',
  'tel.click.override': 'Override the caller ID of outgoing calls',
  'tel.click.overrideHelp': "The client sees only the chosen number. Off: the number of the employee's SIP line, or without one the line chosen in the Bitrix24 telephony settings.",
  'tel.click.setupTitle': 'What to set in Bitrix24',
  'tel.click.setup': 'Telephony → Telephony settings → "Default outgoing call number": choose the UIS OMNI line (or per employee in his profile). Otherwise Bitrix24 calls itself and the app never hears of the click. The employee must be paired with a UIS employee (employee sync).',
  'tel.callback.title': 'Callback',
  'tel.callback.use': 'Use',
  'tel.callback.help': "A site visitor leaves a number in the Bitrix24 callback form: UIS rings the client's responsible (his SIP line), then the visitor. The call appears in Bitrix24 as a callback, with the form's text.",
  'tel.callback.number': 'Number for the outgoing call',
  'tel.callback.setupTitle': 'What to set in Bitrix24',
  'tel.callback.setup': 'Contact center → Callback form: choose the UIS OMNI line. This number is rung only when the responsible is not paired with a UIS employee or has no SIP line.',
  'tel.starts.failures': 'Calls from Bitrix24 that did not start',
  'tel.starts.click': 'click-to-call',
  'tel.starts.callback': 'callback',
  'crm.invalid.clickToCall.number': 'Choose a number: it is required when click-to-call is on',
  'crm.invalid.callback.number': 'Enter a number: it is required when the callback is on',
};
