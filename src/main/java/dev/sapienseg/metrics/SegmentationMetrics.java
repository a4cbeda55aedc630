package dev.sapienseg.metrics;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.lifecycle.ModelState;
import dev.sapienseg.lifecycle.SegmentationService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.StartupEvent;

/**
 * The function's meters, in Micrometer's naming (Prometheus at {@code /q/metrics} renders {@code sapiens.stage.duration}
 * as {@code sapiens_stage_duration_seconds_*}): latency per stage as histograms, batch sizes, requests by outcome and
 * reason, requests in flight, the execution provider in use and the model load time.
 */
@ApplicationScoped
public class SegmentationMetrics {

    private final MeterRegistry registry;
    private final SegmentationService service;

    public SegmentationMetrics(MeterRegistry registry, SegmentationService service) {
        this.registry = registry;
        this.service = service;
    }

    void register(@Observes StartupEvent event) {
        // A gauge (or function counter) registered again under the same id keeps its first function: in a JVM that
        // starts the application more than once (the test suite) that function reads the previous instance and reports
        // NaN, or nothing at all.
        for (String name : List.of("sapiens.requests.in.flight", "sapiens.model.ready", "sapiens.model.load",
                "sapiens.execution.provider", "sapiens.model.info", "sapiens.inference.exec.count")) {
            registry.find(name).meters().forEach(registry::remove);
        }
        Gauge.builder("sapiens.requests.in.flight", service, s -> {
            SegmentationPipeline pipeline = s.readyPipeline();
            return pipeline == null ? 0 : pipeline.inFlight();
        }).description("Requests being processed (decode to reply)").strongReference(true).register(registry);
        Gauge.builder("sapiens.model.ready", service, s -> s.readyPipeline() == null ? 0 : 1)
                .description("1 once the model is loaded and warmed up").strongReference(true).register(registry);
        Gauge.builder("sapiens.model.load", service, s -> s.state().serving().map(ModelState.Ready::loadMillis).orElse(0L) / 1000.0).baseUnit("seconds")
                .description("Time to load and warm up the model sessions").strongReference(true).register(registry);
        // Strong references: a gauge holds its object weakly, and nothing else need hold the service's client proxy.
        for (ExecutionProvider provider : ExecutionProvider.values()) {
            Gauge.builder("sapiens.execution.provider", service,
                    s -> s.readyPipeline() != null && s.providerInUse().equals(provider.label()) ? 1 : 0)
                    .tag("provider", provider.label())
                    .description("1 for the execution provider actually serving (cpu after a CUDA fallback)")
                    .strongReference(true).register(registry);
        }
        // Which bytes are served: known once the model is provisioned and loaded.
        service.whenReady(pipeline -> Gauge.builder("sapiens.model.info", () -> 1)
                .tag("sha256", pipeline.model().identity().sha256Value().orElse("unknown"))
                .tag("provider", pipeline.model().provider().label())
                .description("1, labelled with the served model file's SHA-256 and the provider in use")
                .register(registry));
    }

    /** A picture segmented: its stage latencies, batch size, and the count. */
    public void segmented(Segmentation segmentation, RequestPath path) {
        StageTimings t = segmentation.timings();
        stage("decode", t.decode());
        stage("preprocess", t.preprocess());
        stage("queue", t.queue());
        stage("inference", t.inference());
        stage("postprocess", t.postprocess());
        stage("encode", t.encode());
        DistributionSummary.builder("sapiens.batch.size").description("Pictures per model run")
                .publishPercentileHistogram().register(registry).record(segmentation.batchSize());
        Counter.builder("sapiens.images.processed").tag("path", path.tag()).description("Pictures segmented")
                .register(registry).increment();
        outcome(Outcome.OK, "none");
        inference(segmentation);
    }

    /**
     * The meters Triton users look for, tagged with the model's name like every sapiens.* meter
     * ({@link SegmentationService#metricsName()}: {@code sapiens.model.served-name} when set):
     * {@code sapiens_inference_request_success_total} / {@code _failure_total} (nv_inference_request_success /
     * failure; counted per picture), {@code sapiens_inference_count_total} (nv_inference_count: pictures inferred),
     * {@code sapiens_inference_exec_count_total} (nv_inference_exec_count: model runs, so batching shows as fewer runs
     * than pictures), and durations per picture: {@code sapiens_inference_queue_duration_seconds} (the wait for a
     * model run), {@code _compute_input_} (pre-processing), {@code _compute_infer_} (the model run),
     * {@code _compute_output_} (post-processing) and {@code sapiens_inference_request_duration_seconds} (all of it).
     */
    private void inference(Segmentation segmentation) {
        String model = modelName();
        SegmentationPipeline pipeline = service.readyPipeline();
        if (pipeline != null) {
            FunctionCounter.builder("sapiens.inference.exec.count", pipeline, p -> p.watchdog().runs())
                    .tag("model", model).description("Model runs (batches), failed ones included").register(registry);
        }
        Counter.builder("sapiens.inference.request.success").tag("model", model)
                .description("Pictures answered with a result").register(registry).increment();
        Counter.builder("sapiens.inference.count").tag("model", model).description("Pictures inferred")
                .register(registry).increment();
        StageTimings t = segmentation.timings();
        inferenceTimer("queue", model, t.queue());
        inferenceTimer("compute.input", model, t.preprocess());
        inferenceTimer("compute.infer", model, t.inference());
        inferenceTimer("compute.output", model, t.postprocess());
        inferenceTimer("request", model, t.total());
    }

    private void inferenceTimer(String what, String model, double millis) {
        Timer.builder("sapiens.inference." + what + ".duration").tag("model", model)
                .description("Per picture: " + what).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(600))
                .register(registry).record((long) (millis * 1_000_000), TimeUnit.NANOSECONDS);
    }

    private String modelName() {
        return service.metricsName();
    }

    /** Time spent talking to object storage. */
    public void storage(StorageCall call, long nanos) {
        Timer.builder("sapiens.stage.duration").tag("stage", "storage-" + call.tag())
                .publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void failed(FailureReason reason) {
        outcome(reason.retryable() && reason != FailureReason.INTERNAL_ERROR ? Outcome.REJECTED : Outcome.FAILED,
                reason.code());
        Counter.builder("sapiens.inference.request.failure").tag("model", modelName()).tag("reason", reason.code())
                .description("Requests answered with a failure, by reason").register(registry).increment();
    }

    public void ignored() {
        outcome(Outcome.IGNORED, "none");
    }

    private void outcome(Outcome outcome, String reason) {
        Counter.builder("sapiens.requests").tag("outcome", outcome.tag()).tag("reason", reason)
                .description("Requests answered, by outcome (ok, failed, rejected, ignored) and failure reason")
                .register(registry).increment();
    }

    private void stage(String stage, double millis) {
        Timer.builder("sapiens.stage.duration").tag("stage", stage).description("Latency per pipeline stage")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60)).register(registry)
                .record((long) (millis * 1_000_000), TimeUnit.NANOSECONDS);
    }
}
