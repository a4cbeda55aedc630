package dev.sapienseg.health;

import java.util.Locale;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import dev.sapienseg.lifecycle.ModelPhase;
import dev.sapienseg.lifecycle.ModelState;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.Deadlines;
import dev.sapienseg.pipeline.SegmentationPipeline;

/**
 * What the readiness and startup checks share: UP once the model is ready, with what the model's state says — the
 * phase, the configured model, a download's progress, why it failed, and once serving the model, where it runs and
 * the waits derived from its speed.
 */
final class HealthData {

    private HealthData() {
    }

    static HealthCheckResponse modelReady(String name, SegmentationService service) {
        ModelState state = service.state();
        return describe(HealthCheckResponse.named(name), state, service)
                .status(state.phase() == ModelPhase.READY)
                .build();
    }

    private static HealthCheckResponseBuilder describe(HealthCheckResponseBuilder data, ModelState state,
            SegmentationService service) {
        data.withData("phase", state.phase().label());
        state.choice().ifPresent(choice -> {
            data.withData("model.source", choice.source().describe());
            choice.preset().ifPresent(p -> data.withData("model.preset", p.id()));
        });
        service.download().snapshot().ifPresent(download -> {
            data.withData("download.source", download.source());
            data.withData("download.file", download.file());
            data.withData("download.bytes", download.bytes());
            if (download.total() > 0) {
                data.withData("download.total", download.total());
            }
            download.percent().ifPresent(percent -> data.withData("download.percent", percent));
            if (download.attempt() > 1) {
                data.withData("download.attempt", download.attempt());
            }
        });
        data.withData("provider.requested", service.requestedProvider());
        if (state.settled() instanceof ModelState.Failed failed) {
            data.withData("reason", failed.reason());
        }
        state.serving().ifPresent(ready -> serving(data, ready));
        return data;
    }

    private static void serving(HealthCheckResponseBuilder data, ModelState.Ready ready) {
        SegmentationPipeline pipeline = ready.pipeline();
        SegmentationModel model = pipeline.model();
        data.withData("model", model.name());
        data.withData("model.demo", model.isDemo());
        model.identity().sha256Value().ifPresent(sha -> data.withData("model.sha256", sha));
        model.identity().revisionValue().ifPresent(revision -> data.withData("model.revision", revision));
        String rewrite = model.metadata().get("sapiens.fast-forms"); // written by provisioning.FastForms
        if (rewrite != null) {
            data.withData("model.fast-forms", rewrite);
        }
        data.withData("provider", model.provider().label());
        if (model.providerNote() != null) {
            data.withData("provider.note", model.providerNote());
        }
        data.withData("classes", model.contract().classes());
        data.withData("family", model.contract().family().label());
        data.withData("input", model.contract().inputWidth() + "x" + model.contract().inputHeight());
        data.withData("batch", model.contract().fixedBatch() > 0 ? "fixed " + model.contract().fixedBatch()
                : "dynamic, up to " + pipeline.batchCapacity());
        data.withData("sessions", pipeline.sessions().size());
        data.withData("normalization", pipeline.normalization().name().toLowerCase(Locale.ROOT));
        data.withData("load.ms", ready.loadMillis());
        Deadlines deadlines = pipeline.deadlines();
        data.withData("run.median.ms", deadlines.runs().median().toMillis());
        data.withData("queue-wait.ms", deadlines.queueWait().toMillis());
        data.withData("retry-after.s", deadlines.retryAfterSeconds());
        if (!deadlines.problems().isEmpty()) {
            data.withData("limits.warning", String.join("; ", deadlines.problems()));
        }
        data.withData("warmup.ms", model.warmUpMillis());
        data.withData("warmup.batches", model.warmUp().batches().stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.joining(",")));
        data.withData("batch.sizes", pipeline.batchSizes().shapesFor(model.contract()).stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.joining(",")));
    }
}
