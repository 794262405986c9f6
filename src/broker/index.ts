/** The broker's Key_Shared state as Prometheus metrics: `import { BrokerExporter } from 'pulsar-keyscope/broker-exporter'`. */
export { BrokerExporter, type BrokerExporterOptions } from './exporter.js';
export { AdminClient, BrokerAdminError, topicPath, type AdminClientOptions, type AdminErrorReason } from './admin.js';
export {
  hashRangeShare,
  readPartitionedStats,
  readTopicStats,
  KEY_SHARED_HASH_RANGE_SIZE,
  type ConsumerSample,
  type SubscriptionSample,
} from './stats.js';
export { startBrokerExporterService, type BrokerExporterService, type BrokerExporterServiceOptions } from './service.js';
