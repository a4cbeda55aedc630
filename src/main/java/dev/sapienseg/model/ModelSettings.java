package dev.sapienseg.model;

import java.nio.file.Path;
import java.util.Map;

/**
 * How to load a model: the file, the input size to use where the model leaves it dynamic, and the execution
 * provider with its policy when CUDA cannot be used.
 *
 * @param cudaFallbackToCpu when CUDA is requested but unavailable: true serves on CPU with a warning, false fails
 * @param intraOpThreads 0 lets ONNX Runtime choose (one per core)
 * @param warmUp whether a run on zeros precedes readiness
 */
public record ModelSettings(Path path, int defaultInputHeight, int defaultInputWidth, ExecutionProvider provider,
        int cudaDeviceId, Map<String, String> cudaOptions, boolean cudaFallbackToCpu, int intraOpThreads,
        int interOpThreads, ModelIdentity identity, WarmUp warmUp) {

    /** Settings with a warm-up run always (tests, tools). */
    public ModelSettings(Path path, int defaultInputHeight, int defaultInputWidth, ExecutionProvider provider,
            int cudaDeviceId, Map<String, String> cudaOptions, boolean cudaFallbackToCpu, int intraOpThreads,
            int interOpThreads, ModelIdentity identity) {
        this(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions, cudaFallbackToCpu,
                intraOpThreads, interOpThreads, identity, WarmUp.ALWAYS);
    }

    public ModelSettings withWarmUp(WarmUp policy) {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions,
                cudaFallbackToCpu, intraOpThreads, interOpThreads, identity, policy);
    }

    /** Settings for a file whose identity was not established (tests, tools). */
    public ModelSettings(Path path, int defaultInputHeight, int defaultInputWidth, ExecutionProvider provider,
            int cudaDeviceId, Map<String, String> cudaOptions, boolean cudaFallbackToCpu, int intraOpThreads,
            int interOpThreads) {
        this(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions, cudaFallbackToCpu,
                intraOpThreads, interOpThreads, ModelIdentity.UNKNOWN);
    }

    public static ModelSettings cpu(Path path) {
        return new ModelSettings(path, 1024, 768, ExecutionProvider.CPU, 0, Map.of(), true, 0, 0);
    }
}
