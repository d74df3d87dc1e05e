{
  "targets": [
    {
      "target_name": "lopt_native_kernels",
      "sources": ["src/addon.c", "src/gemm.c", "src/attention.c", "src/biased-attention.c", "src/gelu.c", "src/layer-norm.c", "src/rms-norm.c", "src/swiglu.c", "src/rope.c", "src/stderr-capture.c"],
      "cflags": ["-O3", "-std=c11", "-fopenmp-simd"],
      "libraries": ["-lopenblas", "-lm"]
    }
  ]
}
