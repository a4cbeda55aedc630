package dev.sapienseg.model;

/**
 * Whether a model session runs one inference on zeros before it is declared ready.
 *
 * <p>On CUDA the first run is slow (cuDNN chooses its convolution algorithms, kernels load): a warm-up keeps that
 * from the first request. On the CPU the first run of ONNX Runtime costs what every run costs (measured on the 0.3b
 * architecture: 20.4 s first, 19.7 s later), so a warm-up only delays readiness by one full inference; it is still
 * needed when the model leaves its output dimensions dynamic, which only a run settles.
 *
 * <p>The service's default is {@link #ALWAYS}: ONNX Runtime 1.29 has crashed the JVM (SIGSEGV in
 * {@code OrtSession.run}) when a session's first run started after SIGTERM, during the graceful shutdown; after a
 * warm-up run that never happens. {@link #AUTO} trades that risk for a start-up shorter by one run.
 */
public enum WarmUp {
    /** CUDA: always; CPU: only when the output dimensions are not declared. */
    AUTO,
    ALWAYS,
    NEVER
}
