package dev.sapienseg.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How to load a model: the file, the input size to use where the model leaves it dynamic, and the execution
 * provider with its options and its policy when the GPU cannot be used.
 *
 * @param cudaFallbackToCpu when a GPU provider is requested but unavailable: true serves on CPU with a warning, false fails
 * @param intraOpThreads 0 lets ONNX Runtime choose (one per core)
 * @param warmUp whether runs on zeros precede readiness
 * @param warmUpBatches the batch sizes warmed up, in this order (a fixed-batch model warms its batch only)
 * @param tensorrtOptions TensorRT provider options (provider {@code tensorrt}); profile shapes are added from the model
 * @param cpuIntraOpThreads the intra-op threads of a CPU session after a fallback from the GPU (0: ONNX Runtime's)
 */
public record ModelSettings(Path path, int defaultInputHeight, int defaultInputWidth, ExecutionProvider provider,
        int cudaDeviceId, Map<String, String> cudaOptions, boolean cudaFallbackToCpu, int intraOpThreads,
        int interOpThreads, ModelIdentity identity, WarmUp warmUp, List<Integer> warmUpBatches,
        Map<String, String> tensorrtOptions, int cpuIntraOpThreads) {

    public ModelSettings {
        warmUpBatches = warmUpBatches == null || warmUpBatches.isEmpty() ? List.of(1) : List.copyOf(warmUpBatches);
        tensorrtOptions = tensorrtOptions == null ? Map.of() : Map.copyOf(tensorrtOptions);
    }

    /** Settings with a warm-up run of batch 1 always (tests, tools). */
    public ModelSettings(Path path, int defaultInputHeight, int defaultInputWidth, ExecutionProvider provider,
            int cudaDeviceId, Map<String, String> cudaOptions, boolean cudaFallbackToCpu, int intraOpThreads,
            int interOpThreads, ModelIdentity identity) {
        this(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions, cudaFallbackToCpu,
                intraOpThreads, interOpThreads, identity, WarmUp.ALWAYS, List.of(1), Map.of(), intraOpThreads);
    }

    public ModelSettings withWarmUp(WarmUp policy) {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions,
                cudaFallbackToCpu, intraOpThreads, interOpThreads, identity, policy, warmUpBatches, tensorrtOptions,
                cpuIntraOpThreads);
    }

    public ModelSettings withWarmUpBatches(List<Integer> batches) {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions,
                cudaFallbackToCpu, intraOpThreads, interOpThreads, identity, warmUp, batches, tensorrtOptions,
                cpuIntraOpThreads);
    }

    public ModelSettings withTensorrtOptions(Map<String, String> options) {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions,
                cudaFallbackToCpu, intraOpThreads, interOpThreads, identity, warmUp, warmUpBatches, options,
                cpuIntraOpThreads);
    }

    public ModelSettings withCpuIntraOpThreads(int threads) {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, provider, cudaDeviceId, cudaOptions,
                cudaFallbackToCpu, intraOpThreads, interOpThreads, identity, warmUp, warmUpBatches, tensorrtOptions,
                threads);
    }

    /** The same model on the CPU, with the CPU's threads: what a fallback from the GPU loads. */
    public ModelSettings forCpuFallback() {
        return new ModelSettings(path, defaultInputHeight, defaultInputWidth, ExecutionProvider.CPU, cudaDeviceId,
                cudaOptions, cudaFallbackToCpu, cpuIntraOpThreads, interOpThreads, identity, warmUp, warmUpBatches,
                tensorrtOptions, cpuIntraOpThreads);
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
