/**
 * Why a call from Bitrix24 did not start, as the employee reads it on the closed call card and in
 * his notifications, with the `telephony.externalCall.finish` STATUS_CODE (docs/facts/telephony.md#finish). UIS
 * refusals are the Call API mnemonics of start.employee_call / start.simple_call (docs/facts/telephony.md#call-api).
 */
export interface StartFailure {
  code: string;
  statusCode: string;
  text: string;
}

const TABLE: Record<string, [string, string]> = {
  CLICK_TO_CALL_OFF: ['403', 'звонки по клику из CRM выключены в приложении UIS OMNI (вкладка «Телефония»)'],
  CALLBACK_OFF: ['403', 'обратный звонок выключен в приложении UIS OMNI (вкладка «Телефония»)'],
  UIS_NOT_LINKED: ['403', 'аккаунт UIS не подключён к приложению UIS OMNI'],
  EMPLOYEE_NOT_PAIRED: ['403', 'вы не сопоставлены с сотрудником UIS — администратору нужно синхронизировать сотрудников в UIS OMNI'],
  NO_RESPONSIBLE: ['OTHER', 'не найден ответственный: выберите ответственного за пропущенные входящие звонки на вкладке «Телефония»'],
  NO_VIRTUAL_NUMBER: ['OTHER', 'в аккаунте UIS нет виртуального номера для звонка'],
  REGISTER_FAILED: ['OTHER', 'Битрикс24 не зарегистрировал звонок'],
  BAD_NUMBER: ['404', 'номер клиента не похож на телефонный'],
  no_active_phone_number: ['480', 'у сотрудника в UIS нет SIP-линии или другого активного номера, на который можно позвонить'],
  employee_not_found: ['403', 'сотрудник UIS, с которым вы сопоставлены, не найден в аккаунте — синхронизируйте сотрудников'],
  contact_in_blacklist: ['423', 'номер клиента заблокирован: он в чёрном списке UIS'],
  call_direction_prohibited: ['403', 'звонки на это направление запрещены правилами безопасности UIS'],
  virtual_phone_number_not_found: ['403', 'номер для исходящего звонка не найден в аккаунте UIS — выберите другой на вкладке «Телефония»'],
  own_virtual_phone_number_not_allowed: ['404', 'нельзя позвонить на собственный виртуальный номер аккаунта'],
  component_disabled: ['403', 'в аккаунте UIS не подключён компонент «Call API»'],
  ip_not_whitelisted: ['403', 'UIS не принимает запросы с адреса приложения (список разрешённых IP в UIS)'],
  forbidden: ['403', 'UIS запретил запуск звонка по API'],
  access_token_invalid: ['403', 'ключ API UIS недействителен — подключите аккаунт UIS заново'],
  account_inactive: ['403', 'аккаунт UIS отключён'],
  limit_exceeded: ['503', 'исчерпан лимит запросов Call API UIS — повторите позже'],
};

/** The failure of a code (ours or a UIS mnemonic); unknown UIS codes keep UIS's own message. */
export function startFailure(code: string, uisMessage?: string): StartFailure {
  const known = TABLE[code];
  if (known) return { code, statusCode: known[0], text: known[1] };
  return { code, statusCode: 'OTHER', text: `UIS не начал звонок (${code}${uisMessage ? `: ${uisMessage}` : ''})` };
}
