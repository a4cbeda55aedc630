package dev.sapienseg.metrics;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.lifecycle.SegmentationService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
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
        Gauge.builder("sapiens.requests.in.flight", service, s -> {
            SegmentationPipeline pipeline = s.readyPipeline();
            return pipeline == null ? 0 : pipeline.inFlight();
        }).description("Requests being processed (decode to reply)").register(registry);
        Gauge.builder("sapiens.model.ready", service, s -> s.readyPipeline() == null ? 0 : 1)
                .description("1 once the model is loaded and warmed up").register(registry);
        Gauge.builder("sapiens.model.load", service, s -> s.loadMillis() / 1000.0).baseUnit("seconds")
                .description("Time to load and warm up the model sessions").register(registry);
        for (ExecutionProvider provider : ExecutionProvider.values()) {
            Gauge.builder("sapiens.execution.provider", service,
                    s -> s.readyPipeline() != null && s.providerInUse().equals(provider.label()) ? 1 : 0)
                    .tag("provider", provider.label())
                    .description("1 for the execution provider actually serving (cpu after a CUDA fallback)").register(registry);
        }
    }

    /** A picture segmented: its stage latencies, batch size, and the count. */
    public void segmented(Segmentation segmentation, String path) {
        StageTimings t = segmentation.timings();
        stage("decode", t.decode());
        stage("preprocess", t.preprocess());
        stage("queue", t.queue());
        stage("inference", t.inference());
        stage("postprocess", t.postprocess());
        stage("encode", t.encode());
        DistributionSummary.builder("sapiens.batch.size").description("Pictures per model run")
                .publishPercentileHistogram().register(registry).record(segmentation.batchSize());
        Counter.builder("sapiens.images.processed").tag("path", path).description("Pictures segmented")
                .register(registry).increment();
        outcome("ok", "none");
    }

    /** Time spent talking to object storage ({@code read} or {@code write}). */
    public void storage(String operation, long nanos) {
        Timer.builder("sapiens.stage.duration").tag("stage", "storage-" + operation)
                .publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void failed(FailureReason reason) {
        outcome(reason.retryable() && reason != FailureReason.INTERNAL_ERROR ? "rejected" : "failed", reason.code());
    }

    public void ignored() {
        outcome("ignored", "none");
    }

    private void outcome(String outcome, String reason) {
        Counter.builder("sapiens.requests").tag("outcome", outcome).tag("reason", reason)
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
