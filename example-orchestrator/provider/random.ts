/** A small seeded PRNG (mulberry32): the provider's latency and failures repeat for one seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A log-normal sampler with the given median and 99th percentile. */
export function logNormal(random: () => number, p50: number, p99: number): () => number {
  const sigma = p99 > p50 && p50 > 0 ? Math.log(p99 / p50) / 2.3263 : 0;
  const mu = Math.log(Math.max(p50, 1e-9));
  return () => {
    // Box-Muller; 1 - random() keeps the logarithm finite.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.exp(mu + sigma * z);
  };
}
