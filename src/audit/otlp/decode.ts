/**
 * OTLP/HTTP trace request bodies, both encodings: binary protobuf (the
 * collector's default) through protobufjs, and OTLP/JSON.
 */
import protobuf from 'protobufjs/light.js';
import { KeyscopeError } from '../../errors.js';
import { OTLP_TRACES_SCHEMA } from './schema.js';
import type { OtlpTracesRequest } from './types.js';

const root = protobuf.Root.fromJSON(OTLP_TRACES_SCHEMA);
const requestType = root.lookupType('otlp.ExportTraceServiceRequest');

/** A request body that is not a valid OTLP trace export. The message says what was wrong. */
export class OtlpDecodeError extends KeyscopeError {
  override get name(): string {
    return 'OtlpDecodeError';
  }
}

export function decodeProtobufTraces(body: Uint8Array): OtlpTracesRequest {
  try {
    return requestType.decode(body) as OtlpTracesRequest;
  } catch (error) {
    throw new OtlpDecodeError(`not an OTLP protobuf ExportTraceServiceRequest: ${(error as Error).message}`);
  }
}

export function decodeJsonTraces(body: string): OtlpTracesRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new OtlpDecodeError(`not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OtlpDecodeError('an OTLP/JSON trace export is an object with a resourceSpans array');
  }
  const resourceSpans = (parsed as { resourceSpans?: unknown }).resourceSpans;
  if (resourceSpans !== undefined && !Array.isArray(resourceSpans)) {
    throw new OtlpDecodeError('resourceSpans must be an array');
  }
  return parsed as OtlpTracesRequest;
}

/** An empty ExportTraceServiceResponse: every span accepted. */
export const EMPTY_PROTOBUF_RESPONSE = new Uint8Array(0);
