package dev.sapienseg.lifecycle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.image.OpenCvLimits;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.pipeline.Deadlines;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.pipeline.MemoryBound;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ModelPreset;
import dev.sapienseg.provisioning.ProvisionedModel;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Owns the pod's one model and pipeline. Start-up events run before the HTTP port opens, so the model (seconds to
 * minutes for the real weights) loads on a background thread while the health endpoints already answer
 * "not ready, loading".
 */
@ApplicationScoped
public class SegmentationService {

    private static final Logger LOG = Logger.getLogger(SegmentationService.class);

    private final SapiensConfig config;

    private volatile ModelPhase phase = ModelPhase.LOADING;
    private volatile String failure;
    private volatile SegmentationPipeline pipeline;
    private volatile long loadMillis;
    private volatile boolean nativeLibrariesBroken;
    private volatile ModelChoice choice;
    private final DownloadProgress download = new DownloadProgress();
    private volatile String metricsName;
    private final List<Consumer<SegmentationPipeline>> readyActions = new ArrayList<>();
    private final Supplier<S3Client> s3;

    @Inject
    public SegmentationService(SapiensConfig config, Instance<S3Client> s3) {
        this(config, (Supplier<S3Client>) s3::get);
    }

    /** The S3 client is asked for only when the model is at an s3:// location. */
    public SegmentationService(SapiensConfig config, Supplier<S3Client> s3) {
        this.config = config;
        this.s3 = s3;
    }

    void onStart(@Observes StartupEvent event) {
        // OpenCV's natives (and its OpenBLAS) load here, on the main thread, before any other thread touches JavaCPP:
        // native library loading from several threads at once has been seen to hang in OpenBLAS's initialisation.
        try {
            OpenCvLimits.apply(config.limits().maxImagePixels()); // OpenCV reads its pixel cap once, as it loads
            loadOpenCv();
        } catch (LinkageError e) {
            fail("OpenCV native libraries could not be loaded: " + e, e);
            return;
        }
        Thread loader = new Thread(this::load, "sapiens-model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    /** Loads synchronously; start-up runs it on a background thread. */
    public void load() {
        long start = System.nanoTime();
        try {
            loadOpenCv();
            SapiensConfig.Model settings = config.model();
            ModelChoice chosen = ModelRuntime.choose(settings, ModelChoice.Names.SERVER);
            choice = chosen;
            ModelRuntime.checkProvider(chosen, config.execution().provider());
            chosen.preset().ifPresent(p -> LOG.infof("preset %s: %s; licence: %s (%s)", p.id(), p.description(),
                    p.licence().summary(), p.licence().url()));
            if (chosen.remote()) {
                phase = ModelPhase.DOWNLOADING;
            }
            ProvisionedModel file = ModelRuntime.provision(chosen, settings, s3, download);
            phase = ModelPhase.LOADING;
            List<SegmentationModel> sessions = ModelRuntime.loadSessions(file, settings, config.execution());
            SegmentationModel model = sessions.get(0);
            ImageDecoder decoder = new ImageDecoder(new ImageLimits(config.limits().maxImageBytes().asLongValue(),
                    config.limits().maxImagePixels(), config.limits().decodeBudget()));
            // Dynamically quantized presets run one picture per run (their activation scale is per run).
            int maxBatch = Math.min(config.batching().maxBatchSize(),
                    chosen.preset().map(ModelPreset::maxBatch).orElse(Integer.MAX_VALUE));
            InferenceBatcher.Settings batching = new InferenceBatcher.Settings(maxBatch, config.batching().maxDelay());
            SegmentationPipeline built = new SegmentationPipeline(decoder, sessions,
                    chosen.normalizationFor(model.contract().family()), batching,
                    new Deadlines.Settings(config.limits().queueTimeout(), config.limits().retryAfterSeconds(),
                            config.limits().requestTimeout(), config.limits().maxInFlight(), batching.maxBatch(),
                            sessions.size(), config.batching().maxDelay()),
                    new MemoryBound(config.limits().memoryBudget().asLongValue()));
            config.limits().maxRunTime().ifPresent(built.watchdog()::stallAfter);
            try {
                built.defaultSelection(built.selection(config.selection().classes(), config.selection().invert()));
            } catch (SegmentationException e) {
                built.close();
                throw new ModelLoadException("sapiens.selection.classes does not fit the model served: "
                        + e.getMessage());
            }
            warnAboutMemory(built.memory());
            warnAboutDeadlines(built);
            loadMillis = (System.nanoTime() - start) / 1_000_000;
            List<Consumer<SegmentationPipeline>> actions;
            synchronized (readyActions) {
                pipeline = built;
                actions = List.copyOf(readyActions);
                readyActions.clear();
            }
            actions.forEach(action -> runQuietly(action, built));
            phase = ModelPhase.READY;
            LOG.infof("model %s ready in %d ms (warm-up %d ms) on %s, %d session(s), batch %d: %s%s", model.name(),
                    loadMillis, model.warmUpMillis(), model.provider().label(), sessions.size(),
                    pipeline.batchCapacity(), model.contract(),
                    model.isDemo() ? " — PIPELINE DEMO MODEL, not a real segmenter" : "");
        } catch (ModelLoadException e) {
            fail(e.getMessage(), e.getCause());
        } catch (RuntimeException | LinkageError e) {
            fail("unexpected error while loading: " + e, e);
        }
    }

    /** Says at start-up what the memory settings allow, and warns when they cannot be met. */
    private void warnAboutMemory(MemoryBound memory) {
        long pixels = config.limits().maxImagePixels();
        long largest = MemoryBound.estimate(pixels, config.limits().maxImageBytes().asLongValue(), EnumSet.of(OutputKind.CLASS_PNG,
                OutputKind.OVERLAY));
        long heap = Runtime.getRuntime().maxMemory();
        LOG.infof("memory: budget %d MB for requests in flight (a picture at the %d-pixel limit with class PNG and overlay"
                + " needs up to %d MB), Java heap up to %d MB", memory.budget() >> 20, pixels, largest >> 20, heap >> 20);
        if (largest > memory.budget()) {
            LOG.warnf("sapiens.limits.memory-budget (%d MB) is below the worst case of one picture at"
                    + " sapiens.limits.max-image-pixels with class PNG and overlay (%d MB): such requests get 413",
                    memory.budget() >> 20, largest >> 20);
        }
        ContainerMemory.limitBytes().ifPresent(limit -> {
            if (memory.budget() > limit) {
                LOG.warnf("sapiens.limits.memory-budget (%d MB) exceeds the container's memory limit (%d MB):"
                        + " lower it, or the pod can be OOM-killed under load", memory.budget() >> 20, limit >> 20);
            }
        });
    }

    /** Says at start-up what waits the model's speed gives, and warns loudly about limits it cannot meet. */
    private void warnAboutDeadlines(SegmentationPipeline built) {
        Deadlines deadlines = built.deadlines();
        if (!deadlines.runs().measured()) {
            LOG.infof("deadlines: no warm-up run (sapiens.execution.warm-up=%s): queue wait %d ms until the first run"
                    + " is measured, then derived from it", config.execution().warmUp().name().toLowerCase(java.util.Locale.ROOT),
                    deadlines.queueWait().toMillis());
            deadlines.runs().whenMeasured(() -> warnAboutDeadlines(built));
            return;
        }
        LOG.infof("deadlines: one model run takes %d ms (median); queue wait %d ms (%s), Retry-After %d s when busy,"
                + " a run past %d s marks the pod not live", deadlines.runs().median().toMillis(),
                deadlines.queueWait().toMillis(), deadlines.derived() ? "derived from the run time" : "configured",
                deadlines.retryAfterSeconds(), built.watchdog().stallLimit().toSeconds());
        Duration run = deadlines.runs().median();
        if (run.compareTo(built.watchdog().stallLimit()) >= 0) {
            LOG.warnf("sapiens.limits.max-run-time (%d s) is not longer than one model run (%d ms): liveness will"
                    + " restart the pod during normal work; unset it or raise it", built.watchdog().stallLimit().toSeconds(),
                    run.toMillis());
        }
        for (String problem : deadlines.problems()) {
            LOG.warn("LIMITS THIS MODEL CANNOT MEET: " + problem);
        }
    }

    /** Why the pod can no longer serve (liveness DOWN), or null. */
    public String livenessProblem() {
        if (nativeLibrariesBroken) {
            return "OpenCV's native libraries could not be loaded";
        }
        SegmentationPipeline ready = pipeline;
        return ready == null ? null : ready.watchdog().problem();
    }

    private void fail(String reason, Throwable cause) {
        failure = reason;
        phase = ModelPhase.FAILED;
        LOG.errorf(cause, "model not loaded: %s", reason);
    }

    /** OpenCV's native libraries load on first use; doing it here keeps that cost out of the first request. */
    private void loadOpenCv() {
        try {
            Loader.load(opencv_imgcodecs.class);
            Loader.load(opencv_imgproc.class);
        } catch (LinkageError e) {
            nativeLibrariesBroken = true;
            throw e;
        }
    }

    /** The pipeline, or a retryable failure while the model is loading or could not be loaded. */
    public SegmentationPipeline pipeline() {
        SegmentationPipeline ready = pipeline;
        if (ready != null && phase == ModelPhase.READY) {
            return ready;
        }
        if (phase == ModelPhase.FAILED) {
            throw new SegmentationException(FailureReason.NOT_READY, "this pod has no model: " + failure);
        }
        if (phase == ModelPhase.STOPPING) {
            throw new SegmentationException(FailureReason.NOT_READY, "this pod is shutting down; retry elsewhere");
        }
        throw new SegmentationException(FailureReason.NOT_READY, phase == ModelPhase.DOWNLOADING
                ? "the model is still downloading; retry later" : "the model is still loading; retry later");
    }

    /**
     * The name the model is served under on the Open Inference Protocol ({@code /v2/models/<name>}):
     * {@code sapiens.model.served-name}, else the loaded model's own name (its {@code sapiens.model} metadata, else its
     * file's name); null until loaded when no name is configured.
     */
    public String servedName() {
        Optional<String> configured = config.model().servedName().filter(n -> !n.isBlank());
        SegmentationPipeline ready = pipeline;
        if (configured.isPresent() || ready == null) {
            return configured.orElse(null);
        }
        return ready.model().name();
    }

    /**
     * The model's name on every {@code sapiens.*} metric, fixed from the start (a series never changes its labels):
     * {@code sapiens.model.served-name}, else the configured model's name ({@link ModelChoice#name()}: the preset, or
     * the file's name), or {@code unconfigured}. Set the served name to make it the protocol's name too.
     */
    public String metricsName() {
        String name = metricsName;
        if (name == null) {
            name = config.model().servedName().filter(n -> !n.isBlank())
                    .orElseGet(() -> configured().map(ModelChoice::name).orElse("unconfigured"));
            metricsName = name;
        }
        return name;
    }

    /** The revision the configured location pins, if any (known before loading, like {@link #servedName()}). */
    public Optional<String> pinnedRevision() {
        return configured().flatMap(c -> c.source().pinnedRevision());
    }

    private Optional<ModelChoice> configured() {
        try {
            return Optional.of(ModelRuntime.choose(config.model(), ModelChoice.Names.SERVER));
        } catch (ModelLoadException e) {
            return Optional.empty(); // the loader reports it
        }
    }

    /** Runs {@code action} with the pipeline once the model is ready (at once if it is already). */
    public void whenReady(Consumer<SegmentationPipeline> action) {
        SegmentationPipeline ready;
        synchronized (readyActions) {
            ready = pipeline;
            if (ready == null) {
                readyActions.add(action);
                return;
            }
        }
        runQuietly(action, ready);
    }

    /** A ready action that fails (a meter, say) is logged; it must not turn a loaded model into a failed one. */
    private static void runQuietly(Consumer<SegmentationPipeline> action, SegmentationPipeline ready) {
        try {
            action.accept(ready);
        } catch (RuntimeException e) {
            LOG.warnf(e, "an action on model readiness failed: %s", e);
        }
    }

    /** The pipeline if ready, else null (for meters). */
    public SegmentationPipeline readyPipeline() {
        return pipeline;
    }

    public long loadMillis() {
        return loadMillis;
    }

    /** The provider serving, or the requested one until the model is loaded. */
    public String providerInUse() {
        SegmentationPipeline ready = pipeline;
        return ready != null ? ready.model().provider().label() : config.execution().provider().label();
    }

    public ModelPhase phase() {
        return phase;
    }

    /** Why loading failed, or null. */
    public String failure() {
        return failure;
    }

    /** True when the process cannot work at all (native libraries missing): liveness reports it. */
    public boolean broken() {
        return nativeLibrariesBroken;
    }

    /** Facts for health data. */
    public Map<String, Object> describe() {
        Map<String, Object> data = new TreeMap<>();
        data.put("phase", phase.label());
        ModelChoice chosen = choice;
        if (chosen != null) {
            data.put("model.source", chosen.source().describe());
            chosen.preset().ifPresent(p -> data.put("model.preset", p.id()));
        }
        data.putAll(download.describe());
        data.put("provider.requested", config.execution().provider().label());
        if (failure != null) {
            data.put("reason", failure);
        }
        SegmentationPipeline ready = pipeline;
        if (ready != null) {
            SegmentationModel model = ready.model();
            data.put("model", model.name());
            data.put("model.demo", model.isDemo());
            model.identity().sha256Value().ifPresent(sha -> data.put("model.sha256", sha));
            model.identity().revisionValue().ifPresent(revision -> data.put("model.revision", revision));
            data.put("provider", model.provider().label());
            if (model.providerNote() != null) {
                data.put("provider.note", model.providerNote());
            }
            data.put("classes", model.contract().classes());
            data.put("family", model.contract().family().label());
            data.put("input", model.contract().inputWidth() + "x" + model.contract().inputHeight());
            data.put("batch", model.contract().fixedBatch() > 0 ? "fixed " + model.contract().fixedBatch()
                    : "dynamic, up to " + ready.batchCapacity());
            data.put("sessions", ready.sessions().size());
            data.put("normalization", ready.normalization().name().toLowerCase(java.util.Locale.ROOT));
            data.put("load.ms", loadMillis);
            Deadlines deadlines = ready.deadlines();
            data.put("run.median.ms", deadlines.runs().median().toMillis());
            data.put("queue-wait.ms", deadlines.queueWait().toMillis());
            data.put("retry-after.s", deadlines.retryAfterSeconds());
            List<String> problems = deadlines.problems();
            if (!problems.isEmpty()) {
                data.put("limits.warning", String.join("; ", problems));
            }
            data.put("warmup.ms", model.warmUpMillis());
        }
        return data;
    }

    /** Start of the shutdown delay: readiness goes DOWN so no new traffic is routed here; requests in flight go on. */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        phase = ModelPhase.STOPPING;
        LOG.info("shutting down: readiness DOWN, finishing requests in flight");
    }

    void onStop(@Observes ShutdownEvent event) {
        phase = ModelPhase.STOPPING;
        close();
        LOG.info("model sessions and native buffers released");
    }

    @PreDestroy
    public synchronized void close() {
        SegmentationPipeline ready = pipeline;
        pipeline = null;
        if (ready != null) {
            ready.close();
            ready.sessions().forEach(SegmentationModel::close);
        }
    }
}
