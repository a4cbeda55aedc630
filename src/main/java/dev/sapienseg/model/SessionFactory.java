package dev.sapienseg.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;

/**
 * ONNX Runtime sessions with the execution provider's options: CPU, CUDA, or TensorRT with CUDA behind it for the nodes
 * TensorRT does not take. A GPU that cannot be used raises {@link GpuUnavailableException} naming the cause; a bad
 * model file a plain {@link ModelLoadException}, whatever the provider.
 */
final class SessionFactory {

    private SessionFactory() {
    }

    static OrtSession create(OrtEnvironment env, ModelSettings settings, ExecutionProvider provider)
            throws ModelLoadException {
        if (provider == ExecutionProvider.TENSORRT && !OrtEnvironment.getAvailableProviders().contains(OrtProvider.TENSOR_RT)) {
            throw new GpuUnavailableException(GpuFailure.NOT_IN_BUILD, GpuFailure.NOT_IN_BUILD.explanation()
                    + ": no TensorRT provider", null); // before the contract is read for nothing
        }
        // TensorRT builds one engine per optimisation profile: its shapes come from the model's contract, read first.
        Map<String, String> tensorrt = provider == ExecutionProvider.TENSORRT ? tensorrtOptions(env, settings) : Map.of();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(settings.intraOpThreads());
            }
            if (settings.interOpThreads() > 0) {
                options.setInterOpNumThreads(settings.interOpThreads());
            }
            // Idle ONNX Runtime threads otherwise spin for a while after each run, taking the cores that decoding and
            // post-processing of the other pictures need.
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (provider == ExecutionProvider.CPU) {
                // Memory patterns pre-plan one block for every intermediate tensor of a run; with Sapiens' 600 MB head
                // activations that is 1.4 GB more peak memory (0.3b, faster forms: 4.97 GB -> 3.54 GB) at the same
                // speed. The arena stays: without it every large tensor is mapped and faulted in anew (40 % slower).
                options.setMemoryPatternOptimization(false);
            }
            if (provider == ExecutionProvider.TENSORRT) {
                addTensorrt(options, settings, tensorrt);
            }
            if (provider.gpu()) {
                addCuda(options, settings);
            }
            try {
                return env.createSession(settings.path().toString(), options);
            } catch (OrtException e) {
                String message = String.valueOf(e.getMessage());
                if (message.contains("INVALID_PROTOBUF") || message.contains("Protobuf parsing failed")) {
                    throw new ModelLoadException("not an ONNX model: " + settings.path().toAbsolutePath()
                            + " (ONNX Runtime: " + message + ")", e);
                }
                if (badModelFile(message)) {
                    throw new ModelLoadException("the model file is incomplete: " + settings.path().toAbsolutePath()
                            + " (ONNX Runtime: " + message + ")", e);
                }
                if (provider.gpu()) { // e.g. cuDNN missing or no device: surfaces only when the session starts
                    if (GpuFailure.of(message) == GpuFailure.OTHER) {
                        // Not a GPU's words: if the file cannot open on the CPU either, the file is at fault.
                        readContract(env, settings);
                    }
                    throw unavailable(provider, "session creation failed: ", message, e);
                }
                throw new ModelLoadException("ONNX Runtime could not load " + settings.path().toAbsolutePath() + ": " + message, e);
            }
        } catch (OrtException e) {
            throw new ModelLoadException("could not prepare session options: " + e.getMessage(), e);
        }
    }

    /** Missing or short external data: the file's fault on any provider, not the GPU's. */
    private static boolean badModelFile(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("external data") || m.contains("externaldata") || m.contains("external_data");
    }

    private static GpuUnavailableException unavailable(ExecutionProvider provider, String what, String message,
            Throwable cause) {
        GpuFailure failure = GpuFailure.of(message);
        return new GpuUnavailableException(failure, provider.label() + " " + what + GpuFailure.describe(message), cause);
    }

    private static void addCuda(OrtSession.SessionOptions options, ModelSettings settings)
            throws GpuUnavailableException {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new GpuUnavailableException(GpuFailure.NOT_IN_BUILD, GpuFailure.NOT_IN_BUILD.explanation(), null);
        }
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(settings.cudaDeviceId())) {
            for (Map.Entry<String, String> option : settings.cudaOptions().entrySet()) {
                cuda.add(option.getKey(), option.getValue());
            }
            options.addCUDA(cuda);
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
            throw unavailable(ExecutionProvider.CUDA, "provider could not be added: ", String.valueOf(e.getMessage()), e);
        }
    }

    private static void addTensorrt(OrtSession.SessionOptions options, ModelSettings settings,
            Map<String, String> tensorrt) throws GpuUnavailableException {
        try (OrtTensorRTProviderOptions trt = new OrtTensorRTProviderOptions(settings.cudaDeviceId())) {
            for (Map.Entry<String, String> option : tensorrt.entrySet()) {
                trt.add(option.getKey(), option.getValue());
            }
            options.addTensorrt(trt);
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
            throw unavailable(ExecutionProvider.TENSORRT, "provider could not be added: ", String.valueOf(e.getMessage()), e);
        }
    }

    /**
     * The TensorRT options: the configured ones, with the caches created where they point, and one optimisation
     * profile from batch 1 to the largest warmed batch at the model's input size (unless configured), so that one
     * engine serves every batch shape instead of a rebuild for each new one.
     */
    static Map<String, String> tensorrtOptions(OrtEnvironment env, ModelSettings settings) throws ModelLoadException {
        Map<String, String> options = new TreeMap<>(settings.tensorrtOptions());
        for (String key : new String[] {"trt_engine_cache_path", "trt_timing_cache_path"}) {
            String folder = options.get(key);
            if (folder != null) {
                try {
                    Files.createDirectories(Path.of(folder));
                } catch (IOException e) {
                    throw new ModelLoadException("cannot create the TensorRT cache folder " + folder + ": " + e, e);
                }
            }
        }
        if (!options.containsKey("trt_profile_min_shapes")) {
            ModelContract contract = readContract(env, settings);
            int max = settings.warmUpBatches().stream().mapToInt(Integer::intValue).max().orElse(1);
            String shape = "x3x" + contract.inputHeight() + "x" + contract.inputWidth();
            String name = contract.inputName() + ":";
            options.put("trt_profile_min_shapes", name + contract.batchFor(1) + shape);
            options.put("trt_profile_opt_shapes", name + contract.batchFor(max) + shape);
            options.put("trt_profile_max_shapes", name + contract.batchFor(max) + shape);
        }
        return options;
    }

    /** The model's contract from a plain CPU session, opened and closed only for this. */
    private static ModelContract readContract(OrtEnvironment env, ModelSettings settings) throws ModelLoadException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession session = env.createSession(settings.path().toString(), options)) {
                return ModelContract.read(session, settings.defaultInputHeight(), settings.defaultInputWidth());
            }
        } catch (OrtException e) {
            throw new ModelLoadException("ONNX Runtime could not read " + settings.path().toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }
}
