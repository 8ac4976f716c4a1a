/**
 * Data API errors (Data API §"Обработка ошибок"): JSON-RPC `error {code, message, data}` with the
 * documented code groups, messages and mnemonics (including the docs' own spelling
 * `batch_opreations_not_supported`). `data.field` names nested parameters with dots; for array
 * items the docs give no form — we write `chats.0.phone`.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly mnemonic: string,
    readonly extra: { field?: string; value?: unknown; params?: Record<string, unknown> } = {},
  ) {
    super(message);
  }
}

export const rpc = {
  parse: () => new RpcError(-32700, 'Invalid JSON was received by the server.', 'parse_error'),
  invalidRequest: () => new RpcError(-32600, 'Invalid Request The JSON sent is not a valid Request object', 'invalid_request'),
  batch: () => new RpcError(-32099, 'Batch operations not supported', 'batch_opreations_not_supported'),
  notification: () => new RpcError(-32099, 'Notifications not supported', 'notifications_not_supported'),
  methodNotFound: () => new RpcError(-32601, 'The method does not exist / is not available', 'method_not_found'),
  tokenInvalid: () => new RpcError(-32001, 'Access token is invalid', 'access_token_invalid'),
  authError: () => new RpcError(-32001, 'Login or password is wrong', 'auth_error'),
  limit: (type: 'day' | 'minute', max: number) =>
    new RpcError(-32029, `Limit per ${type} has been exceeded. Value of current limit per ${type} is ${max}`, 'limit_exceeded', {
      params: { limit_type: type, limit_max_value: max },
    }),
  componentDisabled: (components: string[]) =>
    new RpcError(-32008, `You need at least on of the following components to access this method: ${components.join(', ')}`, 'method_component_disabled', {
      params: { components },
    }),
  required: (field: string) => new RpcError(-32602, 'The required parameter has been missed', 'required_parameter_missed', { field }),
  invalidValue: (field: string, value?: unknown, params?: Record<string, unknown>) =>
    new RpcError(-32602, 'Invalid parameter value', 'invalid_parameter_value', { field, value, ...(params ? { params } : {}) }),
  dataType: (field: string, value: unknown) => new RpcError(-32602, 'Data supplied is of wrong type', 'data_type_error', { field, value }),
  unexpected: (field: string) => new RpcError(-32602, 'Unexpected method parameter(s)', 'unexpected_parameters', { field }),
  combination: (field: string, value?: unknown) => new RpcError(-32602, 'The combination of parameters is not permitted', 'invalid_parameters_combination', { field, value }),
  notFound: (field: string, value: unknown) => new RpcError(-32602, 'Entity not found', 'entity_not_found', { field, value }),
  invalidDateTime: (field: string, value: unknown) => new RpcError(-32602, 'Invalid date time', 'invalid_date_time', { field, value }),
  dataLimit: (field: string, max: number) => new RpcError(-32602, 'A new data limit has been exceeded', 'data_limit_exceeded', { field, params: { max } }),
  dateInterval: () => new RpcError(-32602, 'Max value of requested date interval is 3 months', 'date_interval_limit_reached', { field: 'date_till' }),
  filterProhibited: (field: string) => new RpcError(-32602, 'Filter by parameter is prohibited', 'filter_prohibited', { field }),
  sortProhibited: (field: string) => new RpcError(-32602, 'Sort by parameter is prohibited', 'sort_prohibited', { field }),
};
