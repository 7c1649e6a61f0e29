import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';

/** One offending field of a request (`items[0].signal.value`) and why it was rejected. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * The token endpoint refused the credentials or could not be reached. `transient` tells a failure worth another
 * try (the endpoint unreachable or failing, as while the hub restarts) from a refusal (`invalid_client`: wrong
 * credentials) that no retry mends.
 */
export class TokenError extends Error {
  constructor(
    /** The OAuth2 error code (RFC 6749 section 5.2), for example `invalid_client`. */
    readonly error: string,
    readonly description: string,
  ) {
    super(description ? `${error}: ${description}` : error);
    this.name = 'TokenError';
  }

  get transient(): boolean {
    // An answer without an OAuth2 error body is `http_<status>`; a 5xx there (or `temporarily_unavailable`, which
    // some servers send) is the server's trouble, not the credentials'.
    return this.error === 'unreachable' || this.error === 'temporarily_unavailable' || /^http_5\d\d$/.test(this.error);
  }
}

/**
 * A call the hub answered with an error status. `fieldViolations` lists the offending fields of an
 * INVALID_ARGUMENT answer, decoded from the `google.rpc.BadRequest` in the `grpc-status-details-bin` trailer.
 */
export class HubError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly fieldViolations: FieldViolation[] = [],
    /** Seconds the hub asked to wait before retrying (`grpc-retry-pushback-ms`), when it said. */
    readonly retryAfter?: number,
  ) {
    super(
      `${grpc.status[code] ?? code}: ${details}` +
        (fieldViolations.length ? ` (${fieldViolations.map((v) => `${v.field}: ${v.description}`).join('; ')})` : ''),
    );
    this.name = 'HubError';
  }

  static from(error: unknown): HubError {
    if (error instanceof HubError) {
      return error;
    }
    const e = error as Partial<grpc.ServiceError>;
    if (typeof e?.code !== 'number') {
      return new HubError(grpc.status.UNKNOWN, error instanceof Error ? error.message : String(error));
    }
    const details = e.metadata?.get('grpc-status-details-bin')[0];
    const pushback = e.metadata?.get('grpc-retry-pushback-ms')[0];
    return new HubError(
      e.code,
      e.details ?? '',
      Buffer.isBuffer(details) ? decodeFieldViolations(details) : [],
      typeof pushback === 'string' && /^\d+$/.test(pushback) ? Number(pushback) / 1000 : undefined,
    );
  }
}

// Wire-compatible with google.rpc.Status, google.protobuf.Any and google.rpc.BadRequest (same field numbers),
// declared here so that the SDK needs no googleapis protos.
const rpcTypes = protobuf.Root.fromJSON({
  nested: {
    Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    Status: {
      fields: {
        code: { type: 'int32', id: 1 },
        message: { type: 'string', id: 2 },
        details: { rule: 'repeated', type: 'Any', id: 3 },
      },
    },
    FieldViolation: { fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } } },
    BadRequest: { fields: { fieldViolations: { rule: 'repeated', type: 'FieldViolation', id: 1 } } },
  },
});
const StatusType = rpcTypes.lookupType('Status');
const BadRequestType = rpcTypes.lookupType('BadRequest');

/** Decodes the field violations of a serialized `google.rpc.Status`; [] when it carries none. */
export function decodeFieldViolations(statusDetails: Uint8Array): FieldViolation[] {
  const status = StatusType.toObject(StatusType.decode(statusDetails), { defaults: true }) as {
    details: { typeUrl: string; value: Uint8Array }[];
  };
  return status.details
    .filter((d) => d.typeUrl === 'type.googleapis.com/google.rpc.BadRequest')
    .flatMap((d) => {
      const badRequest = BadRequestType.toObject(BadRequestType.decode(d.value), { defaults: true }) as {
        fieldViolations: FieldViolation[];
      };
      return badRequest.fieldViolations.map((v) => ({ field: v.field, description: v.description }));
    });
}
