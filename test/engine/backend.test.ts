import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { activeBackend, initBackend, parseBackendPreference } from '../../src/engine/backend.js';
import { tf } from '../../src/engine/tf.js';

const installed = (name: string) => {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
};
const nativeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');
/** A WebGPU entry point on a machine without a usable GPU driver. */
const noAdapter = { gpu: async () => ({ requestAdapter: async () => null }) as unknown as GPU };

test('auto picks the first backend that starts and says why it passed over the others', { skip: nativeInstalled && 'a native backend is installed here' }, async () => {
  const info = await initBackend('auto', noAdapter);
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(info.skipped.map((s) => s.name), ['node-gpu', 'webgpu', 'node']);
  assert.match(info.skipped[0]!.reason, /tfjs-node-gpu/);
  assert.match(info.skipped[1]!.reason, /no WebGPU adapter/);
  assert.equal(info.adapter, undefined);
  assert.deepEqual(activeBackend(), info);
});

test('WebGPU asked for by name without an adapter is an error, not a fallback', async () => {
  await initBackend('wasm');
  for (const name of ['webgpu', 'webgpu-software'] as const) {
    await assert.rejects(initBackend(name, noAdapter), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BACKEND_UNAVAILABLE');
      assert.match(err.message, new RegExp(`backend "${name}" was asked for but cannot start: no WebGPU adapter`));
      return true;
    });
  }
  assert.equal(tf.getBackend(), 'wasm');
});

test('a backend asked for by name that cannot start is an error, not a fallback', { skip: nativeInstalled && 'a native backend is installed here' }, async () => {
  await initBackend('cpu');
  await assert.rejects(initBackend('node'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BACKEND_UNAVAILABLE');
    assert.match(err.message, /backend "node" was asked for but cannot start/);
    return true;
  });
  assert.equal(tf.getBackend(), 'cpu');
});

test('each portable backend can be forced', async () => {
  for (const name of ['cpu', 'wasm'] as const) {
    const info = await initBackend(name, { nativeKernels: 'off' });
    assert.equal(info.name, name);
    assert.equal(tf.getBackend(), name);
    assert.equal(info.fastTransposedMatMul, false);
  }
});

test('backend preferences are parsed strictly', () => {
  assert.equal(parseBackendPreference(undefined), 'auto');
  assert.equal(parseBackendPreference('node-gpu'), 'node-gpu');
  assert.equal(parseBackendPreference('webgpu-software'), 'webgpu-software');
  assert.throws(() => parseBackendPreference('gpu'), /unknown backend "gpu"; expected auto or one of node-gpu, webgpu, node, wasm, cpu, webgpu-software/);
});
