import type { BackendName, NativeKernelsMode } from '../../src/engine/backend.js';
import { loadNativeAddon } from '../../src/engine/native/native-addon.js';

/** CI builds the OpenBLAS addon and sets this, so that its tests fail there instead of skipping. */
const REQUIRED = process.env.LOPT_REQUIRE_NATIVE_KERNELS === '1';

/** Why the native-kernel tests skip here, or false when they run. */
export const NATIVE_KERNELS_SKIP: string | false = (() => {
  const load = loadNativeAddon();
  if (load.addon || REQUIRED) return false;
  console.log(`# native kernel tests skipped: ${load.reason}`);
  return load.reason;
})();

export interface KernelPath {
  readonly backend: BackendName;
  readonly nativeKernels: NativeKernelsMode;
  readonly label: string;
  /** Why this path is not tested here, or false. */
  readonly skip: string | false;
}

/** Every portable backend with TF.js's own kernels and with the OpenBLAS addon's. */
export const KERNEL_PATHS: readonly KernelPath[] = (['wasm', 'cpu'] as const).flatMap((backend) => [
  { backend, nativeKernels: 'off' as const, label: backend, skip: false as const },
  { backend, nativeKernels: 'on' as const, label: `${backend}+openblas`, skip: NATIVE_KERNELS_SKIP },
]);
