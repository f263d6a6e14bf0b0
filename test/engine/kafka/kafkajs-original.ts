import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A kafkajs module as kafkajs ships it, loaded around Duality's replacement in Node's module cache
 * (engine/kafka/kafkajs.ts), to compare the two.
 */
export function original<T>(module: string): T {
  const path = require.resolve(module);
  const ours = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as T;
  } finally {
    require.cache[path] = ours;
  }
}
