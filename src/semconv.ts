/**
 * Local copy of the OpenTelemetry semantic-convention names this package
 * uses. Most are still incubating; the semconv package asks instrumentations
 * to copy such names rather than import them.
 */

/**
 * The semantic-conventions release these names and span shapes follow, also
 * the one the OpenTelemetry Java agent follows for messaging when run with
 * `-Dotel.semconv-stability.opt-in=messaging`.
 */
const SEMCONV_VERSION = '1.43.0';
export const SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME = 'messaging.destination.subscription.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE = 'error.type';

export const MESSAGING_SYSTEM_VALUE_PULSAR = 'pulsar';

export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
export const MESSAGING_OPERATION_TYPE_VALUE_RECEIVE = 'receive';
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';
export const MESSAGING_OPERATION_TYPE_VALUE_SETTLE = 'settle';

/** Pulsar-specific attributes, following the `messaging.{system}.*` pattern. */
export const ATTR_MESSAGING_PULSAR_MESSAGE_KEY = 'messaging.pulsar.message.key';
export const ATTR_MESSAGING_PULSAR_REDELIVERY_COUNT = 'messaging.pulsar.redelivery_count';
export const ATTR_MESSAGING_PULSAR_SUBSCRIPTION_TYPE = 'messaging.pulsar.subscription.type';

/** This package's own attributes. */
export const ATTR_KEYSCOPE_SEQ = 'keyscope.seq';
export const ATTR_KEYSCOPE_PRODUCER = 'keyscope.producer';
export const ATTR_KEYSCOPE_CONSUMER = 'keyscope.consumer';
export const ATTR_KEYSCOPE_VIOLATION = 'keyscope.violation';
