/**
 * A2A errors on gRPC: the gRPC status code from the error table and a
 * `google.rpc.Status` in the `grpc-status-details-bin` trailer carrying a
 * `google.rpc.ErrorInfo` (and `google.rpc.BadRequest` for validation errors),
 * as the spec's gRPC binding asks (§10.6). Hand-written wire codec (a dozen
 * fields), so no generated code is needed for it.
 */
import { BinaryReader, BinaryWriter, WireType } from '../../peers/grpc.js';
import { A2A_ERROR_DOMAIN, A2A_ERRORS, asProtocolError, BAD_REQUEST_TYPE, ERROR_INFO_TYPE, PENGUIFLOW_ERROR_DOMAIN, type FieldViolation } from '../protocol/errors.js';

/** Metadata key of the binary `google.rpc.Status`. */
export const GRPC_STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** gRPC status codes used by the binding (`@grpc/grpc-js` `status` has the same numbers). */
export const GRPC_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface DecodedErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface DecodedStatus {
  code: number;
  message: string;
  errorInfo?: DecodedErrorInfo;
  violations: FieldViolation[];
}

function writeErrorInfo(info: DecodedErrorInfo): Uint8Array {
  const w = new BinaryWriter();
  w.uint32(10).string(info.reason);
  w.uint32(18).string(info.domain);
  for (const [k, v] of Object.entries(info.metadata)) w.uint32(26).fork().uint32(10).string(k).uint32(18).string(v).join();
  return w.finish();
}

function writeBadRequest(violations: FieldViolation[]): Uint8Array {
  const w = new BinaryWriter();
  for (const v of violations) w.uint32(10).fork().uint32(10).string(v.field).uint32(18).string(v.description).join();
  return w.finish();
}

/** Encodes a `google.rpc.Status` (code, message, ErrorInfo, optional BadRequest). */
export function encodeStatus(status: { code: number; message: string; errorInfo: DecodedErrorInfo; violations?: FieldViolation[] }): Uint8Array {
  const w = new BinaryWriter();
  w.uint32(8).int32(status.code);
  w.uint32(18).string(status.message);
  w.uint32(26).fork().uint32(10).string(ERROR_INFO_TYPE).uint32(18).bytes(writeErrorInfo(status.errorInfo)).join();
  if (status.violations && status.violations.length > 0) {
    w.uint32(26).fork().uint32(10).string(BAD_REQUEST_TYPE).uint32(18).bytes(writeBadRequest(status.violations)).join();
  }
  return w.finish();
}

function readFields(bytes: Uint8Array, onField: (field: number, r: BinaryReader, wire: WireType) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (!onField(field, r, wire)) r.skip(wire, field);
  }
}

function readPair(bytes: Uint8Array): [string, string] {
  let a = '';
  let b = '';
  readFields(bytes, (f, r, wire) => {
    if (wire !== WireType.LengthDelimited) return false;
    if (f === 1) a = r.string();
    else if (f === 2) b = r.string();
    else return false;
    return true;
  });
  return [a, b];
}

/**
 * Decodes a `google.rpc.Status`; unknown detail types are skipped. Throws on
 * malformed bytes (callers treat that as "no details").
 */
export function decodeStatus(bytes: Uint8Array): DecodedStatus {
  const out: DecodedStatus = { code: 0, message: '', violations: [] };
  readFields(bytes, (f, r, wire) => {
    if (f === 1 && wire === WireType.Varint) out.code = r.int32();
    else if (f === 2 && wire === WireType.LengthDelimited) out.message = r.string();
    else if (f === 3 && wire === WireType.LengthDelimited) {
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array();
      readFields(r.bytes(), (af, ar, aw) => {
        if (aw !== WireType.LengthDelimited) return false;
        if (af === 1) typeUrl = ar.string();
        else if (af === 2) value = ar.bytes();
        else return false;
        return true;
      });
      if (typeUrl === ERROR_INFO_TYPE) {
        const info: DecodedErrorInfo = { reason: '', domain: '', metadata: {} };
        readFields(value, (ef, er, ew) => {
          if (ew !== WireType.LengthDelimited) return false;
          if (ef === 1) info.reason = er.string();
          else if (ef === 2) info.domain = er.string();
          else if (ef === 3) {
            const [k, v] = readPair(er.bytes());
            info.metadata[k] = v;
          } else return false;
          return true;
        });
        out.errorInfo = info;
      } else if (typeUrl === BAD_REQUEST_TYPE) {
        readFields(value, (bf, br, bw) => {
          if (bf !== 1 || bw !== WireType.LengthDelimited) return false;
          const [field, description] = readPair(br.bytes());
          out.violations.push({ field, description });
          return true;
        });
      }
    } else return false;
    return true;
  });
  return out;
}

/** The gRPC code, message and binary Status for any thrown value (unknown errors become INTERNAL without internals). */
export function toGrpcError(error: unknown): { code: number; message: string; details: Uint8Array } {
  const e = asProtocolError(error);
  const row = A2A_ERRORS[e.reason];
  const code = GRPC_CODES[row.status];
  const message = e.reason === 'INTERNAL_ERROR' ? row.message : e.message;
  const details = encodeStatus({
    code,
    message,
    errorInfo: { reason: e.reason, domain: row.a2a ? A2A_ERROR_DOMAIN : PENGUIFLOW_ERROR_DOMAIN, metadata: e.metadata ?? {} },
    ...(e.violations ? { violations: e.violations } : {}),
  });
  return { code, message, details };
}
