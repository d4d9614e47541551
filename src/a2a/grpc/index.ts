/**
 * @module penguiflow/a2a/grpc — the A2A v1.0 gRPC binding (`lf.a2a.v1.A2AService`): server on the
 * HTTP server's task manager, client, and the google.rpc.Status codec. Loads @grpc/grpc-js.
 */
export * from './status.js';
export * from './grpc-server.js';
export * from './grpc-client.js';
export * from './grpc-binding.js';
