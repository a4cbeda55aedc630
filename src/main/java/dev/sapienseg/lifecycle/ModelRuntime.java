package dev.sapienseg.lifecycle;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.GpuUnavailableException;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.FastForms;
import dev.sapienseg.provisioning.ModelProvisioner;
import dev.sapienseg.provisioning.ProvisionedModel;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The one way from settings to loaded sessions, used by the server ({@link SegmentationService}) and the batch command
 * alike: model choice (path, URI, preset, demo) → provisioning (cache, SHA-256, external data, retries) → one session
 * per device and job with the execution settings.
 */
public final class ModelRuntime {

    private static final Logger LOG = Logger.getLogger(ModelRuntime.class);

    private ModelRuntime() {
    }

    /** Which model to serve and how to normalise its input. */
    public static ModelChoice choose(SapiensConfig.Model model, ModelChoice.Names names) throws ModelLoadException {
        return ModelChoice.resolve(model.path(), model.uri(), model.preset(), model.normalization(), model.sha256(),
                model.demoPath(), names);
    }

    /**
     * Refuses a preset on an execution provider that cannot run it (dynamic int8 on CUDA), whatever the CUDA fallback
     * says: the settings are wrong, not the node.
     */
    public static void checkProvider(ModelChoice choice, dev.sapienseg.model.ExecutionProvider provider)
            throws ModelLoadException {
        java.util.Optional<String> refusal = choice.preset().flatMap(p -> p.refusal(provider));
        if (refusal.isPresent()) {
            throw new ModelLoadException(refusal.get());
        }
    }

    /**
     * The local model file for the choice (in place, or downloaded into the cache), verified, with its identity; a
     * download is served in its faster form where {@code sapiens.model.fast-forms} wants it for {@code provider}.
     */
    public static ProvisionedModel provision(ModelChoice choice, SapiensConfig.Model model,
            ExecutionProvider provider, Supplier<S3Client> s3, DownloadProgress progress)
            throws ModelLoadException {
        SapiensConfig.Download downloads = model.download();
        ProvisionedModel file = ModelProvisioner.standard(new ModelProvisioner.Settings(Path.of(model.cacheDir()),
                downloads.attempts(), downloads.stallTimeout(), downloads.backoff(), downloads.progressInterval()),
                model.hub().endpoint(), model.hub().token(), s3, progress).provision(choice.source(), choice.sha256());
        // A local file is the user's: served as it is (deploy/export writes the faster form ahead of time).
        return choice.remote() ? FastForms.serve(file, model.fastForms(), provider) : file;
    }

    static final String CUDA_OPTIONS_ENV = "SAPIENS_EXECUTION_CUDA_OPTIONS_";

    /**
     * The CUDA provider options as ONNX Runtime names them (lower case and underscores: {@code gpu_mem_limit}).
     * application.properties and {@code -D} give such keys as written. An environment variable cannot say where a key
     * starts: {@code SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT} sets a key only if another source names it already,
     * and is dropped otherwise; the quoted form {@code SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__} arrives as
     * {@code gpu.mem.limit}. So dots and dashes become underscores here, and a plain variable that set nothing is
     * reported with the form that works ({@code CudaOptionsConfigTest} proves each way).
     */
    static Map<String, String> cudaOptions(Map<String, String> configured, Map<String, String> environment) {
        Map<String, String> options = new TreeMap<>();
        configured.forEach((key, value) -> {
            if (value != null && !value.isBlank()) {
                options.put(key.replace('.', '_').replace('-', '_'), value);
            }
        });
        environment.forEach((name, value) -> {
            if (name.startsWith(CUDA_OPTIONS_ENV) && !name.startsWith(CUDA_OPTIONS_ENV + "_")) {
                String key = name.substring(CUDA_OPTIONS_ENV.length()).toLowerCase(java.util.Locale.ROOT);
                if (!value.equals(options.get(key))) {
                    LOG.warnf("%s did not reach the CUDA options (an environment variable cannot mark where a key"
                            + " starts); write it as %s_%s__ or set sapiens.execution.cuda-options.%s", name,
                            CUDA_OPTIONS_ENV, name.substring(CUDA_OPTIONS_ENV.length()), key);
                }
            }
        });
        return options;
    }

    /**
     * The CUDA provider options handed to ONNX Runtime: the configured ones, with {@code use_tf32} from the precision
     * policy unless configured explicitly.
     */
    static Map<String, String> cudaOptions(SapiensConfig.Execution execution, Map<String, String> environment) {
        Map<String, String> options = cudaOptions(execution.cudaOptions(), environment);
        options.putIfAbsent("use_tf32", execution.cudaPrecision() == SapiensConfig.CudaPrecision.FP32 ? "0" : "1");
        return options;
    }

    /**
     * The TensorRT provider options: the configured ones (keys normalised as for CUDA), with the engine and timing
     * caches under {@code <cache-dir>/tensorrt} unless configured, so that a later start (or another pod on a shared
     * cache volume) loads the engines instead of building them again.
     */
    static Map<String, String> tensorrtOptions(SapiensConfig.Execution execution, Path cacheDir) {
        Map<String, String> options = cudaOptions(execution.tensorrtOptions(), Map.of());
        String caches = cacheDir.resolve("tensorrt").toString();
        options.putIfAbsent("trt_engine_cache_path", caches);
        options.putIfAbsent("trt_timing_cache_path", caches);
        return options;
    }

    /**
     * ONNX Runtime's threads per session. Left to itself, ONNX Runtime starts one per core of the <em>node</em>, not of
     * the pod: on a 64-core node a pod limited to 2 CPUs would run 64 threads and be throttled by the kernel most of
     * each period. The JVM's processor count follows the container's CPU limit (cgroup quota, rounded up), so unless
     * configured the cores the pod may use are shared out between its sessions.
     *
     * On a GPU the session's CPU threads only run the few nodes left on the CPU (shape arithmetic, a Cast): two per
     * session are plenty, and the pod's cores are left to decoding and post-processing.
     *
     * @param configured {@code sapiens.execution.intra-op-threads}; 0: derived
     * @param cpus the processors the JVM sees ({@link Runtime#availableProcessors()})
     */
    public static int intraOpThreads(int configured, int cpus, int sessions, ExecutionProvider provider) {
        if (configured > 0) {
            return configured;
        }
        int share = Math.max(1, cpus / Math.max(1, sessions));
        return provider.gpu() ? Math.min(GPU_INTRA_OP_THREADS, share) : share;
    }

    /** ONNX Runtime's intra-op threads per GPU session unless configured. */
    static final int GPU_INTRA_OP_THREADS = 2;

    /**
     * One session per device and job; all or nothing (what was loaded is closed when one fails).
     *
     * @param warmUpBatches the batch sizes each session warms up on a GPU (the CPU warms the first only)
     */
    public static List<SegmentationModel> loadSessions(ProvisionedModel provisioned, SapiensConfig.Model model,
            SapiensConfig.Execution execution, List<Integer> warmUpBatches) throws ModelLoadException {
        try {
            return loadSessions(provisioned.file(), provisioned, model, execution, warmUpBatches);
        } catch (GpuUnavailableException e) {
            throw e; // the GPU's fault, not the file's
        } catch (ModelLoadException e) {
            if (!provisioned.rewritten()) {
                throw e;
            }
            LOG.warnf("the faster form %s did not load (%s): loading the published file %s instead. Set"
                    + " sapiens.model.fast-forms=never to skip the faster form", provisioned.file(), e.getMessage(),
                    provisioned.published());
            return loadSessions(provisioned.published(), provisioned, model, execution, warmUpBatches);
        }
    }

    private static List<SegmentationModel> loadSessions(Path file, ProvisionedModel provisioned,
            SapiensConfig.Model model, SapiensConfig.Execution execution, List<Integer> warmUpBatches)
            throws ModelLoadException {
        List<Integer> devices = execution.provider().gpu() ? execution.deviceIds() : List.of(0);
        List<SegmentationModel> sessions = new ArrayList<>();
        int sessionCount = devices.size() * Math.max(1, execution.sessionsPerDevice());
        int cpus = Runtime.getRuntime().availableProcessors();
        int intraOp = intraOpThreads(execution.intraOpThreads(), cpus, sessionCount, execution.provider());
        int fallbackIntraOp = intraOpThreads(execution.intraOpThreads(), cpus, sessionCount, ExecutionProvider.CPU);
        Map<String, String> cuda = cudaOptions(execution, System.getenv());
        Map<String, String> tensorrt = tensorrtOptions(execution, Path.of(model.cacheDir()));
        try {
            for (int device : devices) {
                for (int job = 0; job < Math.max(1, execution.sessionsPerDevice()); job++) {
                    ModelSettings settings = new ModelSettings(file, model.inputHeight(), model.inputWidth(),
                            execution.provider(), device, cuda,
                            execution.cudaFallback() == SapiensConfig.CudaFallback.CPU, intraOp,
                            execution.interOpThreads(), provisioned.identity()).withWarmUp(execution.warmUp())
                            .withWarmUpBatches(warmUpBatches).withTensorrtOptions(tensorrt)
                            .withCpuIntraOpThreads(fallbackIntraOp);
                    LOG.infof("loading model %s on %s (device %d, session %d, %d intra-op threads)", file,
                            execution.provider().label(), device, job + 1, intraOp);
                    sessions.add(SegmentationModel.load(settings));
                }
            }
            return sessions;
        } catch (ModelLoadException | RuntimeException e) {
            sessions.forEach(SegmentationModel::close);
            throw e;
        }
    }
}
