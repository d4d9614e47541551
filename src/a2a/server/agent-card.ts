/** Builds the public agent card from the server's options and its base URL. */
import { A2A_LEGACY_VERSION, A2A_PROTOCOL_VERSION, PENGUIFLOW_EXTENSION_URI } from '../protocol/constants.js';
import type { AgentCard, AgentSkill } from '../protocol/types.js';

/** What a user writes; interfaces and capabilities are derived from what the server really does. */
export interface A2ACardOptions {
  name: string;
  description: string;
  version?: string;
  skills?: AgentSkill[];
  provider?: { url: string; organization: string };
  documentationUrl?: string;
  iconUrl?: string;
  defaultInputModes?: string[];
  defaultOutputModes?: string[];
  securitySchemes?: Record<string, unknown>;
  securityRequirements?: unknown[];
  /** Default true. When false, SendStreamingMessage and SubscribeToTask answer UnsupportedOperation. */
  streaming?: boolean;
  /** More interfaces to list after the HTTP ones (e.g. the gRPC binding: `grpcServer.cardInterface(target)`); read each time a card is built. */
  additionalInterfaces?: AgentCard['supportedInterfaces'];
}

export const JSONRPC_PATH = '/a2a/jsonrpc';
export const REST_PATH = '/a2a/rest';

export function buildCard(options: A2ACardOptions, baseUrl: string, flags: { legacy: boolean; extendedCard: boolean; push?: boolean }): AgentCard {
  const base = baseUrl.replace(/\/+$/, '');
  const supportedInterfaces: AgentCard['supportedInterfaces'] = [
    { url: base + JSONRPC_PATH, protocolBinding: 'JSONRPC', protocolVersion: A2A_PROTOCOL_VERSION },
    { url: base + REST_PATH, protocolBinding: 'HTTP+JSON', protocolVersion: A2A_PROTOCOL_VERSION },
  ];
  if (flags.legacy) supportedInterfaces.push({ url: base + JSONRPC_PATH, protocolBinding: 'JSONRPC', protocolVersion: A2A_LEGACY_VERSION });
  if (options.additionalInterfaces) supportedInterfaces.push(...options.additionalInterfaces);
  const card: AgentCard = {
    name: options.name,
    description: options.description,
    version: options.version ?? '1.0.0',
    supportedInterfaces,
    capabilities: {
      streaming: options.streaming !== false,
      pushNotifications: flags.push === true,
      extendedAgentCard: flags.extendedCard,
      extensions: [
        {
          uri: PENGUIFLOW_EXTENSION_URI,
          description: 'Caller tenant, trace id and absolute deadline (epoch ms) in message.metadata and X-Penguiflow-* headers',
          required: false,
        },
      ],
    },
    defaultInputModes: options.defaultInputModes ?? ['text/plain', 'application/json'],
    defaultOutputModes: options.defaultOutputModes ?? ['text/plain', 'application/json'],
    skills: options.skills ?? [],
  };
  if (options.provider) card.provider = options.provider;
  if (options.documentationUrl) card.documentationUrl = options.documentationUrl;
  if (options.iconUrl) card.iconUrl = options.iconUrl;
  if (options.securitySchemes) card.securitySchemes = options.securitySchemes;
  if (options.securityRequirements) card.securityRequirements = options.securityRequirements;
  return card;
}
