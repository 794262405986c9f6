/** Splits Pulsar's `-partition-N` suffix off a topic name, with a small bounded cache. */

export interface TopicName {
  /** Topic without the partition suffix: the metric label and span destination. */
  readonly base: string;
  /** Partition index as a string, or undefined for a non-partitioned topic. */
  readonly partitionId: string | undefined;
}

const PARTITION_SUFFIX = /^(.*)-partition-(\d+)$/;
const CACHE_SIZE = 1024;
const cache = new Map<string, TopicName>();

export function parseTopicName(topic: string): TopicName {
  let parsed = cache.get(topic);
  if (parsed === undefined) {
    const match = PARTITION_SUFFIX.exec(topic);
    parsed = match === null ? { base: topic, partitionId: undefined } : { base: match[1] ?? topic, partitionId: match[2] };
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(topic, parsed);
  }
  return parsed;
}
