/** Wire constants of A2A v1.0 (and the v0.3 dialect we also speak). */
export const A2A_PROTOCOL_VERSION = '1.0';
export const A2A_LEGACY_VERSION = '0.3';
export const SUPPORTED_VERSIONS: readonly string[] = [A2A_PROTOCOL_VERSION, A2A_LEGACY_VERSION];
export const A2A_VERSION_HEADER = 'A2A-Version';
export const A2A_EXTENSIONS_HEADER = 'A2A-Extensions';
export const A2A_CONTENT_TYPE = 'application/a2a+json';
export const JSON_CONTENT_TYPE = 'application/json';
export const SSE_CONTENT_TYPE = 'text/event-stream';
export const AGENT_CARD_PATH = '/.well-known/agent-card.json';
export const LEGACY_AGENT_CARD_PATH = '/.well-known/agent.json';

/**
 * The penguiflow context extension: a caller's tenant, trace id and absolute
 * deadline travel in `message.metadata[PENGUIFLOW_EXTENSION_URI]` and as the
 * `X-Penguiflow-*` headers below. Peers that do not know it ignore it.
 */
export const PENGUIFLOW_EXTENSION_URI = 'https://penguiflow.dev/a2a/extensions/context/v1';
export const TENANT_HEADER = 'X-Penguiflow-Tenant';
export const TRACE_HEADER = 'X-Penguiflow-Trace-Id';
export const DEADLINE_HEADER = 'X-Penguiflow-Deadline';

/** JSON-RPC method names, v1.0. */
export const METHODS = {
  sendMessage: 'SendMessage',
  sendStreamingMessage: 'SendStreamingMessage',
  getTask: 'GetTask',
  listTasks: 'ListTasks',
  cancelTask: 'CancelTask',
  subscribeToTask: 'SubscribeToTask',
  createPushConfig: 'CreateTaskPushNotificationConfig',
  getPushConfig: 'GetTaskPushNotificationConfig',
  listPushConfigs: 'ListTaskPushNotificationConfigs',
  deletePushConfig: 'DeleteTaskPushNotificationConfig',
  getExtendedAgentCard: 'GetExtendedAgentCard',
} as const;
export type A2AMethod = (typeof METHODS)[keyof typeof METHODS];

/** v0.3 JSON-RPC method names and the v1.0 method each one maps to. */
export const LEGACY_METHODS: Readonly<Record<string, A2AMethod>> = {
  'message/send': METHODS.sendMessage,
  'message/stream': METHODS.sendStreamingMessage,
  'tasks/get': METHODS.getTask,
  'tasks/cancel': METHODS.cancelTask,
  'tasks/resubscribe': METHODS.subscribeToTask,
  'tasks/pushNotificationConfig/set': METHODS.createPushConfig,
  'tasks/pushNotificationConfig/get': METHODS.getPushConfig,
  'tasks/pushNotificationConfig/list': METHODS.listPushConfigs,
  'tasks/pushNotificationConfig/delete': METHODS.deletePushConfig,
  'agent/getAuthenticatedExtendedCard': METHODS.getExtendedAgentCard,
};

export const STREAMING_METHODS: ReadonlySet<string> = new Set([METHODS.sendStreamingMessage, METHODS.subscribeToTask]);
