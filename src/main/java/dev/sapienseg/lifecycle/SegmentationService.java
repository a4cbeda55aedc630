package dev.sapienseg.lifecycle;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.image.OpenCvLimits;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.GpuUnavailableException;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ProvisionedModel;
import dev.sapienseg.util.DaemonThreads;
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

    /** The one value the pod's model is: every transition goes through {@link #advance}. */
    private final AtomicReference<ModelState> state = new AtomicReference<>(new ModelState.Loading(Optional.empty()));
    private final DownloadProgress download = new DownloadProgress();
    /** Fixed from the start: a metric series never changes its labels. */
    private volatile String metricsName;
    private final List<Consumer<SegmentationPipeline>> readyActions = new ArrayList<>();
    private final Supplier<S3Client> s3;

    /**
     * What happens when the GPU cannot be used and the policy is {@code fail}: the server exits (status 3) so that the
     * kubelet restarts the pod, or the operator sees a crash loop with the reason, in seconds; readiness would
     * otherwise stay DOWN until the startup probe gives up (55 minutes on the GPU Service).
     */
    private final Consumer<GpuUnavailableException> exitForGpu;

    @Inject
    public SegmentationService(SapiensConfig config, Instance<S3Client> s3) {
        this(config, (Supplier<S3Client>) s3::get, SegmentationService::exit);
    }

    /** The S3 client is asked for only when the model is at an s3:// location; a GPU failure is only reported. */
    public SegmentationService(SapiensConfig config, Supplier<S3Client> s3) {
        this(config, s3, e -> { });
    }

    SegmentationService(SapiensConfig config, Supplier<S3Client> s3, Consumer<GpuUnavailableException> exitForGpu) {
        this.config = config;
        this.s3 = s3;
        this.exitForGpu = exitForGpu;
    }

    /** Ends the process: the GPU this pod was made for cannot be used, and no later attempt in it would succeed. */
    static void exit(GpuUnavailableException e) {
        LOG.fatalf("exiting with status %d: %s", GPU_UNAVAILABLE_EXIT, e.getMessage());
        io.quarkus.runtime.Quarkus.asyncExit(GPU_UNAVAILABLE_EXIT);
    }

    /** The server's exit status when the GPU cannot be used under {@code cuda-fallback=fail}. */
    public static final int GPU_UNAVAILABLE_EXIT = 3;

    void onStart(@Observes StartupEvent event) {
        // OpenCV's natives (and its OpenBLAS) load here, on the main thread, before any other thread touches JavaCPP:
        // native library loading from several threads at once has been seen to hang in OpenBLAS's initialisation.
        try {
            OpenCvLimits.apply(config.limits().maxImagePixels()); // OpenCV reads its pixel cap once, as it loads
            loadOpenCv();
        } catch (LinkageError e) {
            fail("OpenCV native libraries could not be loaded: " + e, e, true);
            return;
        }
        DaemonThreads.start("sapiens-model-loader", this::load);
    }

    /** Loads synchronously; start-up runs it on a background thread. */
    public void load() {
        long start = System.nanoTime();
        try {
            loadOpenCv();
        } catch (LinkageError e) {
            fail("unexpected error while loading: " + e, e, true); // the process cannot work: liveness says so
            return;
        }
        ModelChoice chosen = null;
        try {
            SapiensConfig.Model settings = config.model();
            chosen = ModelRuntime.choose(settings, ModelChoice.Names.SERVER);
            ModelRuntime.checkProvider(chosen, config.execution().provider());
            chosen.preset().ifPresent(p -> LOG.infof("preset %s: %s; licence: %s (%s)", p.id(), p.description(),
                    p.licence().summary(), p.licence().url()));
            advance(chosen.remote() ? new ModelState.Downloading(chosen) : new ModelState.Loading(Optional.of(chosen)));
            ProvisionedModel file = ModelRuntime.provision(chosen, settings, config.execution().provider(), s3, download);
            advance(new ModelState.Loading(Optional.of(chosen)));
            BatchSizes sizes = PipelineAssembly.batchSizes(config.batching(), chosen);
            List<SegmentationModel> sessions = ModelRuntime.loadSessions(file, settings, config.execution(), sizes.sizes());
            SegmentationPipeline built = PipelineAssembly.build(config, chosen, sessions, sizes);
            StartupAdvice.memory(config.limits(), built.memory());
            StartupAdvice.deadlines(config, built);
            ModelState.Ready ready = new ModelState.Ready(chosen, built, (System.nanoTime() - start) / 1_000_000);
            List<Consumer<SegmentationPipeline>> actions;
            synchronized (readyActions) {
                if (!advance(ready)) {
                    built.close(); // shut down while loading: nothing will serve it
                    sessions.forEach(SegmentationModel::close);
                    return;
                }
                actions = List.copyOf(readyActions);
                readyActions.clear();
            }
            actions.forEach(action -> runQuietly(action, built));
            SegmentationModel model = built.model();
            LOG.infof("model %s ready in %d ms (warm-up %d ms) on %s, %d session(s), batch %d: %s%s", model.name(),
                    ready.loadMillis(), model.warmUpMillis(), model.provider().label(), sessions.size(),
                    built.batchCapacity(), model.contract(),
                    model.isDemo() ? " — PIPELINE DEMO MODEL, not a real segmenter" : "");
        } catch (GpuUnavailableException e) {
            fail(Optional.ofNullable(chosen), e.getMessage(), e.getCause(), false);
            exitForGpu.accept(e);
        } catch (ModelLoadException e) {
            fail(Optional.ofNullable(chosen), e.getMessage(), e.getCause(), false);
        } catch (RuntimeException | LinkageError e) {
            fail(Optional.ofNullable(chosen), "unexpected error while loading: " + e, e, false);
        }
    }

    /** Moves to {@code next} unless shutdown has begun (a stopping pod never becomes ready again). */
    private boolean advance(ModelState next) {
        ModelState now = state.get();
        while (!(now instanceof ModelState.Stopping)) {
            if (state.compareAndSet(now, next)) {
                return true;
            }
            now = state.get();
        }
        return false;
    }

    /** Why the pod can no longer serve (liveness DOWN), or null. */
    public String livenessProblem() {
        if (state.get().settled() instanceof ModelState.Failed failed && failed.nativeLibraries()) {
            return "OpenCV's native libraries could not be loaded";
        }
        return readyPipeline() == null ? null : readyPipeline().watchdog().problem();
    }

    private void fail(String reason, Throwable cause, boolean nativeLibraries) {
        fail(Optional.empty(), reason, cause, nativeLibraries);
    }

    private void fail(Optional<ModelChoice> chosen, String reason, Throwable cause, boolean nativeLibraries) {
        advance(new ModelState.Failed(chosen, reason, nativeLibraries));
        LOG.errorf(cause, "model not loaded: %s", reason);
    }

    /** OpenCV's native libraries load on first use; doing it here keeps that cost out of the first request. */
    private void loadOpenCv() {
        Loader.load(opencv_imgcodecs.class);
        Loader.load(opencv_imgproc.class);
    }

    /** The pipeline, or a retryable failure while the model is loading or could not be loaded. */
    public SegmentationPipeline pipeline() {
        ModelState now = state.get();
        if (now instanceof ModelState.Ready ready) {
            return ready.pipeline();
        }
        String why;
        if (now instanceof ModelState.Failed failed) {
            why = "this pod has no model: " + failed.reason();
        } else if (now instanceof ModelState.Stopping) {
            why = "this pod is shutting down; retry elsewhere";
        } else if (now instanceof ModelState.Downloading) {
            why = "the model is still downloading; retry later";
        } else {
            why = "the model is still loading; retry later";
        }
        throw new SegmentationException(FailureReason.NOT_READY, why);
    }

    /** Where the model is now. */
    public ModelState state() {
        return state.get();
    }

    /** The provisioner's progress, read live while the state is {@link ModelState.Downloading}. */
    public DownloadProgress download() {
        return download;
    }

    /** The execution provider the configuration asks for. */
    public String requestedProvider() {
        return config.execution().provider().label();
    }

    /**
     * The name the model is served under on the Open Inference Protocol ({@code /v2/models/<name>}):
     * {@code sapiens.model.served-name}, else the loaded model's own name (its {@code sapiens.model} metadata, else its
     * file's name); null until loaded when no name is configured.
     */
    public String servedName() {
        Optional<String> configured = config.model().servedName();
        SegmentationPipeline ready = readyPipeline();
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
            name = config.model().servedName()
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
            ready = readyPipeline();
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

    /** The pipeline being served (ready, or stopping with requests in flight), else null (for meters). */
    public SegmentationPipeline readyPipeline() {
        return state.get().serving().map(ModelState.Ready::pipeline).orElse(null);
    }

    /** The provider serving, or the requested one until the model is loaded. */
    public String providerInUse() {
        SegmentationPipeline ready = readyPipeline();
        return ready != null ? ready.model().provider().label() : requestedProvider();
    }

    public ModelPhase phase() {
        return state.get().phase();
    }

    /**
     * Start of the shutdown delay: readiness goes DOWN so no new traffic is routed here; requests in flight go on.
     * Before the HTTP drain (dev.sapienseg.event.ShutdownDrain), which blocks this event for the delay.
     */
    void onShutdownDelay(@Observes @Priority(Interceptor.Priority.LIBRARY_BEFORE) ShutdownDelayInitiatedEvent event) {
        stop(false);
        LOG.info("shutting down: readiness DOWN, finishing requests in flight");
    }

    void onStop(@Observes ShutdownEvent event) {
        close();
        LOG.info("model sessions and native buffers released");
    }

    /** Stopping from now on; with {@code release}, the sessions are released too (once). */
    private ModelState stop(boolean release) {
        return state.getAndUpdate(now -> now instanceof ModelState.Stopping stopping
                ? new ModelState.Stopping(stopping.was(), stopping.released() || release)
                : new ModelState.Stopping(now, release));
    }

    @PreDestroy
    public synchronized void close() {
        ModelState before = stop(true);
        boolean released = before instanceof ModelState.Stopping stopping && stopping.released();
        if (!released) {
            before.serving().map(ModelState.Ready::pipeline).ifPresent(ready -> {
                ready.close();
                ready.sessions().forEach(SegmentationModel::close);
            });
        }
    }
}
