import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initBackend, shutdownBackend } from '../../src/engine/backend.js';
import { createPrefixCache, prefixKey, type CachedPrompt } from '../../src/inference/prefix-cache.js';
import { tf } from '../../src/engine/tf.js';

before(() => initBackend('wasm'));
after(shutdownBackend);

/** An entry of `bytes` whose disposal is recorded in `disposed`. */
function entry(name: string, bytes: number, disposed: string[]): CachedPrompt {
  return { rows: { prompt: tf.zeros([1, 1]) as tf.Tensor2D }, bytes, dispose: () => void disposed.push(name) };
}

test('entries evicted, forgotten or too large are disposed only at release, never while a batch may hold them', () => {
  const disposed: string[] = [];
  const cache = createPrefixCache(100);
  let computed = 0;
  const get = (name: string, bytes: number) => cache.get(prefixKey('m', name), () => (computed++, entry(name, bytes, disposed)));
  const a = get('a', 60);
  assert.equal(get('a', 60), a, 'a hit returns the cached entry');
  get('b', 60); // evicts a
  get('huge', 500); // larger than the cache: not kept
  cache.forget('b');
  assert.deepEqual(disposed, [], 'nothing is freed during the batch');
  cache.release();
  assert.deepEqual(disposed.sort(), ['a', 'b', 'huge']);
  get('a', 60);
  assert.equal(computed, 4, 'an evicted entry is computed again');
  cache.release();
  assert.deepEqual(disposed.sort(), ['a', 'b', 'huge'], 'a live entry is not freed by release');
});

test('with no room, every entry is computed for its batch and then freed', () => {
  const disposed: string[] = [];
  const cache = createPrefixCache(0);
  cache.get(prefixKey('m', 'a'), () => entry('a', 10, disposed));
  cache.release();
  assert.deepEqual(disposed, ['a']);
});
