import { initBackend } from '../../src/engine/backend.js';

/**
 * Why WebGPU cannot run here, or false when `webgpu-software` started (it is then the active
 * backend). CI sets LOPT_REQUIRE_WEBGPU_TESTS=1, which turns a missing adapter into a failure.
 */
export async function webgpuUnavailable(): Promise<string | false> {
  try {
    await initBackend('webgpu-software');
    return false;
  } catch (err) {
    const reason = `no WebGPU adapter (${(err as Error).message}); .ci/install-lavapipe installs Mesa's software one`;
    if (process.env.LOPT_REQUIRE_WEBGPU_TESTS === '1') throw new Error(`LOPT_REQUIRE_WEBGPU_TESTS=1, but ${reason}`);
    console.log(`skipping the WebGPU tests: ${reason}`);
    return reason;
  }
}
