/**
 * The gRPC binding's peers (`@grpc/grpc-js`, `@a2a-js/sdk`, `@bufbuild/protobuf`),
 * loaded on first use (see peer.ts). `grpc` and `pb` stand in for
 * `import * as grpc from '@grpc/grpc-js'` and `import * as pb from '@a2a-js/sdk'`.
 */
import type * as G from '@grpc/grpc-js';
import type * as Sdk from '@a2a-js/sdk';
import type * as SdkGrpc from '@a2a-js/sdk/server/grpc';
import type * as Wire from '@bufbuild/protobuf/wire';
import { lazyExport } from './peer.js';

export const grpc = lazyExport<typeof G>('@grpc/grpc-js', (m) => m, { kind: 'object' });
/* eslint-disable @typescript-eslint/no-namespace */
export declare namespace grpc {
  export type CallOptions = G.CallOptions;
  export type ChannelCredentials = G.ChannelCredentials;
  export type Client = G.Client;
  export type ClientReadableStream<T> = G.ClientReadableStream<T>;
  export type ClientUnaryCall = G.ClientUnaryCall;
  export type Metadata = G.Metadata;
  export type Server = G.Server;
  export type ServerCredentials = G.ServerCredentials;
  export type ServerUnaryCall<Req, Res> = G.ServerUnaryCall<Req, Res>;
  export type ServerWritableStream<Req, Res> = G.ServerWritableStream<Req, Res>;
  export type ServiceError = G.ServiceError;
  export type StatusObject = G.StatusObject;
  export type UntypedServiceImplementation = G.UntypedServiceImplementation;
  export type sendUnaryData<T> = G.sendUnaryData<T>;
}

export const pb = lazyExport<typeof Sdk>('@a2a-js/sdk', (m) => m, { kind: 'object' });
export declare namespace pb {
  export type AgentCard = Sdk.AgentCard;
  export type CancelTaskRequest = Sdk.CancelTaskRequest;
  export type DeleteTaskPushNotificationConfigRequest = Sdk.DeleteTaskPushNotificationConfigRequest;
  export type GetExtendedAgentCardRequest = Sdk.GetExtendedAgentCardRequest;
  export type GetTaskPushNotificationConfigRequest = Sdk.GetTaskPushNotificationConfigRequest;
  export type GetTaskRequest = Sdk.GetTaskRequest;
  export type JsonInput = Sdk.JsonInput;
  export type ListTaskPushNotificationConfigsRequest = Sdk.ListTaskPushNotificationConfigsRequest;
  export type ListTaskPushNotificationConfigsResponse = Sdk.ListTaskPushNotificationConfigsResponse;
  export type ListTasksRequest = Sdk.ListTasksRequest;
  export type ListTasksResponse = Sdk.ListTasksResponse;
  export type SendMessageRequest = Sdk.SendMessageRequest;
  export type SendMessageResponse = Sdk.SendMessageResponse;
  export type StreamResponse = Sdk.StreamResponse;
  export type SubscribeToTaskRequest = Sdk.SubscribeToTaskRequest;
  export type Task = Sdk.Task;
  export type TaskPushNotificationConfig = Sdk.TaskPushNotificationConfig;
}
/* eslint-enable @typescript-eslint/no-namespace */

export const A2AService: typeof SdkGrpc.A2AService = lazyExport<typeof SdkGrpc.A2AService>('@a2a-js/sdk', (m) => m.A2AService, { specifier: '@a2a-js/sdk/server/grpc', kind: 'object' });

export const BinaryReader = lazyExport<typeof Wire.BinaryReader>('@bufbuild/protobuf', (m) => m.BinaryReader, { specifier: '@bufbuild/protobuf/wire' });
export type BinaryReader = Wire.BinaryReader;
export const BinaryWriter = lazyExport<typeof Wire.BinaryWriter>('@bufbuild/protobuf', (m) => m.BinaryWriter, { specifier: '@bufbuild/protobuf/wire' });
export type BinaryWriter = Wire.BinaryWriter;
export const WireType = lazyExport<typeof Wire.WireType>('@bufbuild/protobuf', (m) => m.WireType, { specifier: '@bufbuild/protobuf/wire', kind: 'object' });
export type WireType = Wire.WireType;
